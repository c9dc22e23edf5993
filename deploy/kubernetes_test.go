package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dsr-project/dsr/internal/config"
)

var kubeDir = filepath.Join(repoRoot, "deploy", "kubernetes")

// ---- the manifests, as far as the checks need -----------------------------------------------

type k8sMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

type k8sObject struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	file       string
	doc        int
	node       *yaml.Node
}

func (o *k8sObject) String() string { return o.Kind + "/" + o.Metadata.Name }

// str is any scalar as written (an int-or-string port, a quantity); tag is its YAML tag.
type str struct {
	value, tag string
}

func (s *str) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a scalar")
	}
	s.value, s.tag = n.Value, n.ShortTag()
	return nil
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []any             `yaml:"matchExpressions"`
}

type securityContext struct {
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
	RunAsUser                *int64 `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     *str   `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		FieldRef        any     `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type envFrom struct {
	ConfigMapRef *keyRef `yaml:"configMapRef"`
	SecretRef    *keyRef `yaml:"secretRef"`
	Prefix       string  `yaml:"prefix"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port str    `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port str `yaml:"port"`
	} `yaml:"tcpSocket"`
	GRPC *struct {
		Port int `yaml:"port"`
	} `yaml:"grpc"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	TimeoutSeconds int `yaml:"timeoutSeconds"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env            []envVar  `yaml:"env"`
	EnvFrom        []envFrom `yaml:"envFrom"`
	LivenessProbe  *probe    `yaml:"livenessProbe"`
	ReadinessProbe *probe    `yaml:"readinessProbe"`
	StartupProbe   *probe    `yaml:"startupProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]str `yaml:"requests"`
		Limits   map[string]str `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type podSpec struct {
	RestartPolicy                 string          `yaml:"restartPolicy"`
	TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               securityContext `yaml:"securityContext"`
	Containers                    []container     `yaml:"containers"`
	InitContainers                []container     `yaml:"initContainers"`
	Volumes                       []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
			Items      []any  `yaml:"items"`
		} `yaml:"secret"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

// workload is a Deployment or a Job: what runs pods.
type workload struct {
	Spec struct {
		Replicas     *int           `yaml:"replicas"`
		Selector     *labelSelector `yaml:"selector"`
		BackoffLimit *int           `yaml:"backoffLimit"`
		Template     struct {
			Metadata k8sMeta `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Port       int `yaml:"port"`
			TargetPort str `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type hpa struct {
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int `yaml:"minReplicas"`
		MaxReplicas int  `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource *struct {
				Name   string `yaml:"name"`
				Target struct {
					Type               string `yaml:"type"`
					AverageUtilization *int   `yaml:"averageUtilization"`
				} `yaml:"target"`
			} `yaml:"resource"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

type pdb struct {
	Spec struct {
		MinAvailable   *str          `yaml:"minAvailable"`
		MaxUnavailable *str          `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// keyValues is a ConfigMap or a Secret: data (base64 in a Secret) and stringData.
type keyValues struct {
	Data       map[string]str `yaml:"data"`
	StringData map[string]str `yaml:"stringData"`
}

type kustomization struct {
	Namespace string      `yaml:"namespace"`
	Resources []string    `yaml:"resources"`
	Images    []kustImage `yaml:"images"`
}

type kustImage struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag"`
	Digest  string `yaml:"digest"`
}

// apiVersions are the versions the manifests' kinds are served at in supported clusters.
var apiVersions = map[string]string{
	"Namespace":               "v1",
	"ConfigMap":               "v1",
	"Secret":                  "v1",
	"Service":                 "v1",
	"Deployment":              "apps/v1",
	"Job":                     "batch/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2",
	"PodDisruptionBudget":     "policy/v1",
}

type k8sModel struct {
	objects  []*k8sObject
	files    []string // YAML files of the directory but kustomization.yaml
	kust     kustomization
	imageEnv map[string]string // ENV of the image's final stage
}

func loadKubernetes(t *testing.T) *k8sModel {
	t.Helper()
	m := &k8sModel{}
	entries, err := os.ReadDir(kubeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")) {
			continue
		}
		if name == "kustomization.yaml" {
			if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(kubeDir, name))), &m.kust); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		m.files = append(m.files, name)
		objs, err := parseManifests(name, readFile(t, filepath.Join(kubeDir, name)))
		if err != nil {
			t.Fatal(err)
		}
		m.objects = append(m.objects, objs...)
	}
	df, err := parseDockerfile(readFile(t, filepath.Join(repoRoot, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	m.imageEnv = df.Stages[len(df.Stages)-1].env()
	return m
}

// parseManifests reads every document of a multi-document YAML file.
func parseManifests(file, text string) ([]*k8sObject, error) {
	var out []*k8sObject
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, errors.New(file + ": " + err.Error())
		}
		if len(n.Content) == 0 || n.Content[0].Kind == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
			continue // a document of comments only
		}
		o := &k8sObject{file: file, doc: doc, node: &n}
		if err := n.Decode(o); err != nil {
			return nil, errors.New(file + ": " + err.Error())
		}
		out = append(out, o)
	}
}

func as[T any](t *testing.T, o *k8sObject) *T {
	t.Helper()
	var v T
	if err := o.node.Decode(&v); err != nil {
		t.Fatalf("%s (%s): %v", o, o.file, err)
	}
	return &v
}

func (m *k8sModel) find(kind, name string) *k8sObject {
	for _, o := range m.objects {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	return nil
}

// values are the keys of a ConfigMap or Secret, decoded.
func values(t *testing.T, o *k8sObject) map[string]str {
	kv := as[keyValues](t, o)
	out := map[string]str{}
	for k, v := range kv.Data {
		if o.Kind == "Secret" {
			b, err := base64.StdEncoding.DecodeString(v.value)
			if err != nil {
				t.Errorf("%s: data key %s is not base64 (use stringData for plain text)", o, k)
			}
			v.value = string(b)
		}
		out[k] = v
	}
	for k, v := range kv.StringData {
		out[k] = v
	}
	return out
}

func selects(sel map[string]string, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ---- the checks -------------------------------------------------------------------------------

func checkKubernetes(t *testing.T, m *k8sModel) problems {
	var ps problems
	ns := m.kust.Namespace
	seen := map[string]bool{}
	haveNamespace := false
	for _, o := range m.objects {
		where := o.file + " #" + strconv.Itoa(o.doc)
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			ps.addf("%s: apiVersion, kind and metadata.name are required", where)
			continue
		}
		if want, ok := apiVersions[o.Kind]; !ok {
			ps.addf("%s: %s is not a kind these checks know", where, o.Kind)
		} else if o.APIVersion != want {
			ps.addf("%s: %s is apiVersion %s, want %s", where, o, o.APIVersion, want)
		}
		if seen[o.String()] {
			ps.addf("%s: %s is defined twice", where, o)
		}
		seen[o.String()] = true
		if o.Kind == "Namespace" {
			haveNamespace = haveNamespace || o.Metadata.Name == ns
		} else if o.Metadata.Namespace != ns {
			ps.addf("%s: %s is in namespace %q, the kustomization in %q", where, o, o.Metadata.Namespace, ns)
		}
		if o.Kind == "ConfigMap" || o.Kind == "Secret" {
			for k, v := range values(t, o) {
				if v.tag != "!!str" {
					ps.addf("%s: %s key %s is a %s; the API takes strings only (quote it)", where, o, k, v.tag)
				}
			}
		}
	}
	if !haveNamespace {
		ps.addf("no Namespace %q", ns)
	}

	// The kustomization lists every file, and only files that exist.
	for _, f := range m.files {
		if !slices.Contains(m.kust.Resources, f) {
			ps.addf("kustomization.yaml does not list %s", f)
		}
	}
	for _, r := range m.kust.Resources {
		if !slices.Contains(m.files, r) {
			ps.addf("kustomization.yaml lists %s, which is not in deploy/kubernetes", r)
		}
	}

	deployments := map[string]*workload{}
	replicas := map[string]int{} // what a PDB can count on: replicas, or the HPA's minimum
	for _, o := range m.objects {
		switch o.Kind {
		case "Deployment", "Job":
			w := as[workload](t, o)
			checkWorkload(t, m, &ps, o, w)
			if o.Kind == "Deployment" {
				deployments[o.Metadata.Name] = w
				if w.Spec.Replicas != nil {
					replicas[o.Metadata.Name] = *w.Spec.Replicas
				}
			}
		}
	}
	for _, o := range m.objects {
		if o.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		h := as[hpa](t, o).Spec
		ref := h.ScaleTargetRef
		w, ok := deployments[ref.Name]
		switch {
		case ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || !ok:
			ps.addf("%s: scales %s %s/%s, which is not a Deployment here", o, ref.APIVersion, ref.Kind, ref.Name)
			continue
		case containerMode(w) != config.ModeWorker:
			ps.addf("%s: scales %s, which does not run `dsr worker`", o, ref.Name)
		case w.Spec.Replicas != nil:
			ps.addf("%s: Deployment %s sets replicas, which every apply would reset under the autoscaler", o, ref.Name)
		}
		if h.MinReplicas == nil || *h.MinReplicas < 2 || *h.MinReplicas > h.MaxReplicas {
			ps.addf("%s: want 2 <= minReplicas <= maxReplicas", o)
		} else {
			replicas[ref.Name] = *h.MinReplicas
		}
		cpu := false
		for _, mt := range h.Metrics {
			cpu = cpu || (mt.Type == "Resource" && mt.Resource != nil && mt.Resource.Name == "cpu" && mt.Resource.Target.Type == "Utilization" && mt.Resource.Target.AverageUtilization != nil)
		}
		if !cpu {
			ps.addf("%s: no CPU utilisation metric", o)
		}
		for _, c := range w.Spec.Template.Spec.Containers {
			if _, ok := c.Resources.Requests["cpu"]; !ok {
				ps.addf("%s: container %s of %s requests no CPU: utilisation is a share of the request", o, c.Name, ref.Name)
			}
		}
	}
	for _, name := range sortedKeys(deployments) {
		if _, ok := replicas[name]; !ok {
			ps.addf("Deployment/%s: no replicas and no autoscaler", name)
		}
	}
	pdbs := map[string]bool{}
	for _, o := range m.objects {
		if o.Kind != "PodDisruptionBudget" {
			continue
		}
		p := as[pdb](t, o).Spec
		var hits []string
		for _, name := range sortedKeys(deployments) {
			if selects(p.Selector.MatchLabels, deployments[name].Spec.Template.Metadata.Labels) {
				hits = append(hits, name)
			}
		}
		if len(hits) != 1 {
			ps.addf("%s: selects the pods of %d Deployments %q, want exactly one", o, len(hits), hits)
			continue
		}
		pdbs[hits[0]] = true
		if (p.MinAvailable == nil) == (p.MaxUnavailable == nil) {
			ps.addf("%s: set exactly one of minAvailable and maxUnavailable", o)
		}
		if p.MinAvailable != nil {
			if n, err := strconv.Atoi(p.MinAvailable.value); err == nil && n >= replicas[hits[0]] {
				ps.addf("%s: minAvailable %d with %d replicas blocks every node drain", o, n, replicas[hits[0]])
			}
		}
		if p.MaxUnavailable != nil && p.MaxUnavailable.value == "0" {
			ps.addf("%s: maxUnavailable 0 blocks every node drain", o)
		}
	}
	for _, name := range sortedKeys(deployments) {
		if !pdbs[name] {
			ps.addf("Deployment/%s has no PodDisruptionBudget", name)
		}
	}
	for _, o := range m.objects {
		if o.Kind != "Service" {
			continue
		}
		s := as[service](t, o).Spec
		var hits []string
		for _, name := range sortedKeys(deployments) {
			if selects(s.Selector, deployments[name].Spec.Template.Metadata.Labels) {
				hits = append(hits, name)
			}
		}
		if len(hits) != 1 || containerMode(deployments[hits[0]]) != config.ModeAPI {
			ps.addf("%s: selects %q, want the api Deployment only", o, hits)
			continue
		}
		c := deployments[hits[0]].Spec.Template.Spec.Containers[0]
		for _, p := range s.Ports {
			if _, ok := containerPort(c, p.TargetPort); !ok {
				ps.addf("%s: targetPort %s is no port of %s", o, p.TargetPort.value, hits[0])
			}
		}
	}
	return ps
}

// containerMode is the dsr role the workload's first container runs.
func containerMode(w *workload) config.Mode {
	if cs := w.Spec.Template.Spec.Containers; len(cs) > 0 {
		return modes[firstOf(cs[0].Args)]
	}
	return ""
}

func containerPort(c container, port str) (int, bool) {
	for _, p := range c.Ports {
		if p.Name == port.value || strconv.Itoa(p.ContainerPort) == port.value {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func checkWorkload(t *testing.T, m *k8sModel, ps *problems, o *k8sObject, w *workload) {
	spec := w.Spec.Template.Spec
	labels := w.Spec.Template.Metadata.Labels
	if o.Kind == "Deployment" && (w.Spec.Selector == nil || !selects(w.Spec.Selector.MatchLabels, labels)) {
		ps.addf("%s: selector does not match the pod template's labels", o)
	}
	if o.Kind == "Job" {
		if spec.RestartPolicy != "Never" && spec.RestartPolicy != "OnFailure" {
			ps.addf("%s: restartPolicy %q, want Never or OnFailure", o, spec.RestartPolicy)
		}
		if w.Spec.BackoffLimit == nil {
			ps.addf("%s: no backoffLimit", o)
		}
	}
	volumes := map[string]string{} // volume -> Secret it holds ("" for others)
	for _, v := range spec.Volumes {
		volumes[v.Name] = ""
		if v.Secret != nil {
			volumes[v.Name] = v.Secret.SecretName
			if m.find("Secret", v.Secret.SecretName) == nil {
				ps.addf("%s: volume %s mounts Secret %s, which is not defined", o, v.Name, v.Secret.SecretName)
			}
		}
		if v.ConfigMap != nil && m.find("ConfigMap", v.ConfigMap.Name) == nil {
			ps.addf("%s: volume %s mounts ConfigMap %s, which is not defined", o, v.Name, v.ConfigMap.Name)
		}
	}
	pod := spec.SecurityContext
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		where := o.String() + " container " + c.Name
		// The restricted Pod Security Standard, and a root file system nobody writes.
		sc := c.SecurityContext
		if !isTrue(sc.RunAsNonRoot) && !isTrue(pod.RunAsNonRoot) {
			ps.addf("%s: runAsNonRoot is not set", where)
		}
		if (sc.RunAsUser != nil && *sc.RunAsUser == 0) || (pod.RunAsUser != nil && *pod.RunAsUser == 0) {
			ps.addf("%s: runs as user 0", where)
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			ps.addf("%s: readOnlyRootFilesystem is not true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			ps.addf("%s: allowPrivilegeEscalation is not false", where)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			ps.addf("%s: does not drop ALL capabilities", where)
		}
		if sc.SeccompProfile.Type != "RuntimeDefault" && pod.SeccompProfile.Type != "RuntimeDefault" {
			ps.addf("%s: no RuntimeDefault seccomp profile", where)
		}
		// Resources: requests for scheduling, a memory limit, requests within limits.
		for _, r := range []string{"cpu", "memory"} {
			req, ok := c.Resources.Requests[r]
			if !ok {
				ps.addf("%s: no %s request", where, r)
				continue
			}
			if lim, ok := c.Resources.Limits[r]; ok {
				rq, err1 := parseQuantity(req.value)
				lq, err2 := parseQuantity(lim.value)
				if err := errors.Join(err1, err2); err != nil {
					ps.addf("%s: %s: %v", where, r, err)
				} else if rq > lq {
					ps.addf("%s: %s request %s is above its limit %s", where, r, req.value, lim.value)
				}
			} else if r == "memory" {
				ps.addf("%s: no memory limit", where)
			}
		}
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				ps.addf("%s: mounts volume %s, which the pod does not declare", where, vm.Name)
			}
		}
		if c.Image == "" {
			ps.addf("%s: no image", where)
		}
		if !slices.ContainsFunc(m.kust.Images, func(i kustImage) bool {
			return i.Name == c.Image && i.NewName != "" && (i.Digest != "" || (i.NewTag != "" && i.NewTag != "latest"))
		}) {
			ps.addf("%s: image %q is not set to a pinned release under images: in kustomization.yaml", where, c.Image)
		}
		mode, ok := modes[firstOf(c.Args)]
		if !ok || len(c.Command) > 0 {
			ps.addf("%s: args %q (command %q), want args [api], [worker] or [migrate] for the /dsr entrypoint", where, c.Args, c.Command)
			continue
		}
		env, explicit := containerEnv(t, m, ps, where, c)
		checkEnvNames(ps, where, mode, env, explicit)
		checkRequired(ps, where, mode, env)
		if err := loadConfig(t, mode, env); err != nil {
			ps.addf("%s: `dsr %s` would refuse its settings: %v", where, mode, err)
		}
		// TLS files are where a Secret volume puts them.
		for _, k := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"} {
			p := env[k]
			if p == "" {
				continue
			}
			found := false
			for _, vm := range c.VolumeMounts {
				if path.Dir(p) == path.Clean(vm.MountPath) && volumes[vm.Name] != "" {
					if sec := m.find("Secret", volumes[vm.Name]); sec != nil {
						_, found = values(t, sec)[path.Base(p)]
					}
				}
			}
			if !found && usedBy(mustSetting(k), mode) {
				ps.addf("%s: %s is %s, which no mounted Secret holds", where, k, p)
			}
		}
		checkProbes(ps, o, where, mode, c, env, spec)
	}
}

func checkProbes(ps *problems, o *k8sObject, where string, mode config.Mode, c container, env map[string]string, spec podSpec) {
	if o.Kind != "Deployment" {
		return
	}
	timeout, err := shutdownTimeout(env)
	if err != nil {
		ps.addf("%s: DSR_SHUTDOWN_TIMEOUT: %v", where, err)
	}
	pause := 0
	if c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = c.Lifecycle.PreStop.Sleep.Seconds
	}
	grace := 30 // Kubernetes' default
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	if need := timeout + time.Duration(pause)*time.Second; time.Duration(grace)*time.Second <= need {
		ps.addf("%s: terminationGracePeriodSeconds %d is not above the preStop pause and DSR_SHUTDOWN_TIMEOUT (%v): the kubelet kills it mid-drain", where, grace, need)
	}
	switch mode {
	case config.ModeWorker:
		// A worker listens on nothing: an HTTP, TCP or gRPC probe can only fail.
		for _, p := range []*probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && (p.HTTPGet != nil || p.TCPSocket != nil || p.GRPC != nil) {
				ps.addf("%s: a worker serves no port to probe", where)
			}
		}
	case config.ModeAPI:
		port, loopback, err := httpPort(env["DSR_HTTP_ADDR"])
		if err != nil || loopback {
			ps.addf("%s: DSR_HTTP_ADDR %q must listen beyond loopback", where, env["DSR_HTTP_ADDR"])
		}
		for _, p := range []struct {
			name  string
			probe *probe
			path  string
		}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				ps.addf("%s: no HTTP %s on %s", where, p.name, p.path)
				continue
			}
			got, ok := containerPort(c, p.probe.HTTPGet.Port)
			switch {
			case p.probe.HTTPGet.Path != p.path:
				ps.addf("%s: %s GETs %s, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
			case !ok:
				ps.addf("%s: %s port %s is no container port", where, p.name, p.probe.HTTPGet.Port.value)
			case got != port:
				ps.addf("%s: %s probes port %d, but DSR_HTTP_ADDR listens on %d", where, p.name, got, port)
			}
		}
		if p := c.StartupProbe; p != nil && p.HTTPGet != nil && p.HTTPGet.Path != "/healthz" {
			ps.addf("%s: startupProbe GETs %s; start-up is over when the process answers /healthz", where, p.HTTPGet.Path)
		}
		if p := c.ReadinessProbe; p != nil && p.TimeoutSeconds <= 3 {
			ps.addf("%s: readinessProbe timeoutSeconds %d: /readyz takes up to 3s when a dependency hangs", where, p.TimeoutSeconds)
		}
	}
}

// containerEnv is what the container's process sees: the image's ENV, then envFrom, then
// env, with references resolved against the manifests. explicit names the env entries.
func containerEnv(t *testing.T, m *k8sModel, ps *problems, where string, c container) (map[string]string, map[string]bool) {
	env := mergeEnv(m.imageEnv)
	explicit := map[string]bool{}
	for _, ef := range c.EnvFrom {
		kind, ref := "ConfigMap", ef.ConfigMapRef
		if ef.SecretRef != nil {
			kind, ref = "Secret", ef.SecretRef
		}
		if ref == nil {
			continue
		}
		o := m.find(kind, ref.Name)
		if o == nil {
			ps.addf("%s: envFrom %s %s is not defined", where, kind, ref.Name)
			continue
		}
		for k, v := range values(t, o) {
			env[ef.Prefix+k] = v.value
		}
	}
	for _, e := range c.Env {
		explicit[e.Name] = true
		switch {
		case e.Value != nil:
			if e.Value.tag != "!!str" {
				ps.addf("%s: env %s is a %s; the API takes strings only (quote it)", where, e.Name, e.Value.tag)
			}
			env[e.Name] = e.Value.value
		case e.ValueFrom != nil && (e.ValueFrom.SecretKeyRef != nil || e.ValueFrom.ConfigMapKeyRef != nil):
			kind, ref := "Secret", e.ValueFrom.SecretKeyRef
			if ref == nil {
				kind, ref = "ConfigMap", e.ValueFrom.ConfigMapKeyRef
			}
			o := m.find(kind, ref.Name)
			if o == nil {
				ps.addf("%s: env %s refers to %s %s, which is not defined", where, e.Name, kind, ref.Name)
				continue
			}
			v, ok := values(t, o)[ref.Key]
			if !ok {
				ps.addf("%s: env %s refers to key %s, which %s %s does not have", where, e.Name, ref.Key, kind, ref.Name)
				continue
			}
			env[e.Name] = v.value
		default:
			ps.addf("%s: env %s has neither value nor a Secret or ConfigMap key", where, e.Name)
		}
	}
	return env, explicit
}

func mustSetting(env string) config.Setting {
	s, ok := setting(env)
	if !ok {
		panic(env + " is no setting")
	}
	return s
}

func isTrue(b *bool) bool { return b != nil && *b }

// parseQuantity reads a Kubernetes quantity (100m, 2, 512Mi, 1G) as a number.
func parseQuantity(s string) (float64, error) {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errors.New("not a quantity: " + s)
	}
	return f * mult, nil
}

// ---- tests ------------------------------------------------------------------------------------

func TestKubernetes(t *testing.T) {
	report(t, "deploy/kubernetes", checkKubernetes(t, loadKubernetes(t)))
}

func TestKubernetesSecretsArePlaceholders(t *testing.T) {
	// Templates must not carry a usable key: every dsr key in the Secrets is a placeholder.
	m := loadKubernetes(t)
	for _, o := range m.objects {
		if o.Kind != "Secret" {
			continue
		}
		for k, v := range values(t, o) {
			if v.value != "" && !strings.Contains(v.value, "REPLACE_ME") {
				t.Errorf("%s key %s holds a value; a template holds REPLACE_ME or nothing", o, k)
			}
		}
	}
}

// edit changes the YAML of one object in a fresh model, in place.
func edit(t *testing.T, m *k8sModel, kind, name string, f func(root map[string]any)) {
	t.Helper()
	o := m.find(kind, name)
	if o == nil {
		t.Fatalf("no %s/%s", kind, name)
	}
	var root map[string]any
	if err := o.node.Decode(&root); err != nil {
		t.Fatal(err)
	}
	f(root)
	var n yaml.Node
	if err := n.Encode(root); err != nil {
		t.Fatal(err)
	}
	fresh := &k8sObject{file: o.file, doc: o.doc, node: &n}
	if err := n.Decode(fresh); err != nil {
		t.Fatal(err)
	}
	m.objects[slices.Index(m.objects, o)] = fresh
}

// dig walks maps and lists: dig(root, "spec", "template", "spec", "containers", 0).
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func container0(root map[string]any) map[string]any {
	return dig(root, "spec", "template", "spec", "containers", 0).(map[string]any)
}

func envEntry(c map[string]any, name string) map[string]any {
	for _, e := range c["env"].([]any) {
		if e.(map[string]any)["name"] == name {
			return e.(map[string]any)
		}
	}
	panic("no env " + name)
}

func removeEnv(c map[string]any, name string) {
	c["env"] = slices.DeleteFunc(c["env"].([]any), func(e any) bool { return e.(map[string]any)["name"] == name })
}

// TestKubernetesChecksCatchFaults breaks the real manifests in one way at a time: each
// fault must be reported.
func TestKubernetesChecksCatchFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  string
		obj   string
		fault func(root map[string]any)
		want  []string
	}{
		{"no name", "ConfigMap", "dsr-config", func(r map[string]any) { delete(r["metadata"].(map[string]any), "name") }, []string{"metadata.name are required"}},
		{"old API", "PodDisruptionBudget", "dsr-api", func(r map[string]any) { r["apiVersion"] = "policy/v1beta1" }, []string{"want policy/v1"}},
		{"other namespace", "Service", "dsr-api", func(r map[string]any) { r["metadata"].(map[string]any)["namespace"] = "default" }, []string{`in namespace "default"`}},
		{"unquoted number", "ConfigMap", "dsr-config", func(r map[string]any) { r["data"].(map[string]any)["DSR_SMTP_PORT"] = 587 }, []string{"DSR_SMTP_PORT is a !!int"}},
		{"liveness on readyz", "Deployment", "dsr-api", func(r map[string]any) {
			dig(container0(r), "livenessProbe", "httpGet").(map[string]any)["path"] = "/readyz"
		}, []string{"livenessProbe GETs /readyz, want /healthz"}},
		{"readiness on another port", "Deployment", "dsr-api", func(r map[string]any) {
			dig(container0(r), "readinessProbe", "httpGet").(map[string]any)["port"] = 9090
		}, []string{"readinessProbe port 9090 is no container port"}},
		{"listens elsewhere", "Deployment", "dsr-api", func(r map[string]any) {
			envEntry(container0(r), "DSR_HTTP_ADDR")["value"] = "0.0.0.0:9000"
		}, []string{"probes port 8080, but DSR_HTTP_ADDR listens on 9000"}},
		{"no readiness", "Deployment", "dsr-api", func(r map[string]any) { delete(container0(r), "readinessProbe") }, []string{"no HTTP readinessProbe on /readyz"}},
		{"http probe on worker", "Deployment", "dsr-worker", func(r map[string]any) {
			container0(r)["livenessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 8080}}
		}, []string{"a worker serves no port"}},
		{"short grace", "Deployment", "dsr-api", func(r map[string]any) {
			dig(r, "spec", "template", "spec").(map[string]any)["terminationGracePeriodSeconds"] = 30
		}, []string{"terminationGracePeriodSeconds 30 is not above", "35s"}},
		{"unknown secret", "Deployment", "dsr-worker", func(r map[string]any) {
			dig(envEntry(container0(r), "DSR_SMTP_PASSWORD"), "valueFrom", "secretKeyRef").(map[string]any)["name"] = "smtp"
		}, []string{"refers to Secret smtp, which is not defined"}},
		{"unknown key", "Deployment", "dsr-api", func(r map[string]any) {
			dig(envEntry(container0(r), "DSR_CODEC_KEYS"), "valueFrom", "secretKeyRef").(map[string]any)["key"] = "codec"
		}, []string{"refers to key codec, which Secret dsr-keys does not have"}},
		{"unknown configmap", "Job", "dsr-migrate", func(r map[string]any) {
			dig(container0(r), "envFrom", 0, "configMapRef").(map[string]any)["name"] = "dsr"
		}, []string{"envFrom ConfigMap dsr is not defined"}},
		{"unknown setting", "ConfigMap", "dsr-config", func(r map[string]any) { r["data"].(map[string]any)["DSR_SMTP_SERVER"] = "x" }, []string{"DSR_SMTP_SERVER is not a dsr setting"}},
		{"secret given to a role that ignores it", "Deployment", "dsr-api", func(r map[string]any) {
			c := container0(r)
			c["env"] = append(c["env"].([]any), map[string]any{"name": "DSR_SMTP_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "dsr-smtp", "key": "password"}}})
		}, []string{"DSR_SMTP_PASSWORD is set but `dsr api` does not read it"}},
		{"worker without keys", "Deployment", "dsr-worker", func(r map[string]any) { removeEnv(container0(r), "DSR_CODEC_KEYS") }, []string{"`dsr worker` needs DSR_CODEC_KEYS"}},
		{"worker without SMTP", "ConfigMap", "dsr-config", func(r map[string]any) { delete(r["data"].(map[string]any), "DSR_SMTP_HOST") }, []string{"`dsr worker` needs DSR_SMTP_HOST"}},
		{"bad value", "ConfigMap", "dsr-config", func(r map[string]any) { r["data"].(map[string]any)["DSR_LOG_LEVEL"] = "loud" }, []string{"would refuse its settings", "DSR_LOG_LEVEL"}},
		{"TLS file nowhere", "ConfigMap", "dsr-config", func(r map[string]any) {
			r["data"].(map[string]any)["TEMPORAL_TLS_CA"] = "/etc/ssl/temporal-ca.pem"
		}, []string{"TEMPORAL_TLS_CA is /etc/ssl/temporal-ca.pem, which no mounted Secret holds"}},
		{"writable root", "Deployment", "dsr-worker", func(r map[string]any) {
			container0(r)["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = false
		}, []string{"readOnlyRootFilesystem is not true"}},
		{"root", "Job", "dsr-migrate", func(r map[string]any) {
			dig(r, "spec", "template", "spec", "securityContext").(map[string]any)["runAsUser"] = 0
		}, []string{"runs as user 0"}},
		{"no memory limit", "Deployment", "dsr-api", func(r map[string]any) {
			delete(dig(container0(r), "resources", "limits").(map[string]any), "memory")
		}, []string{"no memory limit"}},
		{"request above limit", "Deployment", "dsr-worker", func(r map[string]any) {
			dig(container0(r), "resources", "requests").(map[string]any)["memory"] = "2Gi"
		}, []string{"memory request 2Gi is above its limit 1Gi"}},
		{"HPA on the api", "HorizontalPodAutoscaler", "dsr-worker", func(r map[string]any) {
			dig(r, "spec", "scaleTargetRef").(map[string]any)["name"] = "dsr-api"
		}, []string{"does not run `dsr worker`"}},
		{"HPA on nothing", "HorizontalPodAutoscaler", "dsr-worker", func(r map[string]any) {
			dig(r, "spec", "scaleTargetRef").(map[string]any)["name"] = "worker"
		}, []string{"which is not a Deployment here"}},
		{"HPA without CPU requests", "Deployment", "dsr-worker", func(r map[string]any) {
			delete(dig(container0(r), "resources", "requests").(map[string]any), "cpu")
		}, []string{"requests no CPU"}},
		{"replicas under HPA", "Deployment", "dsr-worker", func(r map[string]any) { r["spec"].(map[string]any)["replicas"] = 2 }, []string{"sets replicas"}},
		{"PDB selects nothing", "PodDisruptionBudget", "dsr-worker", func(r map[string]any) {
			dig(r, "spec", "selector", "matchLabels").(map[string]any)["app.kubernetes.io/component"] = "workers"
		}, []string{"selects the pods of 0 Deployments"}},
		{"PDB selects both", "PodDisruptionBudget", "dsr-api", func(r map[string]any) {
			delete(dig(r, "spec", "selector", "matchLabels").(map[string]any), "app.kubernetes.io/component")
		}, []string{"selects the pods of 2 Deployments"}},
		{"PDB blocks drains", "PodDisruptionBudget", "dsr-api", func(r map[string]any) { r["spec"].(map[string]any)["minAvailable"] = 2 }, []string{"minAvailable 2 with 2 replicas"}},
		{"selector off the labels", "Deployment", "dsr-api", func(r map[string]any) {
			dig(r, "spec", "selector", "matchLabels").(map[string]any)["tier"] = "web"
		}, []string{"selector does not match"}},
		{"service on workers", "Service", "dsr-api", func(r map[string]any) {
			dig(r, "spec", "selector").(map[string]any)["app.kubernetes.io/component"] = "worker"
		}, []string{"want the api Deployment only"}},
		{"service port", "Service", "dsr-api", func(r map[string]any) { dig(r, "spec", "ports", 0).(map[string]any)["targetPort"] = "web" }, []string{"targetPort web is no port"}},
		{"job retries forever", "Job", "dsr-migrate", func(r map[string]any) {
			dig(r, "spec", "template", "spec").(map[string]any)["restartPolicy"] = "Always"
		}, []string{"want Never or OnFailure"}},
		{"unknown role", "Job", "dsr-migrate", func(r map[string]any) { container0(r)["args"] = []any{"migrations"} }, []string{"want args [api], [worker] or [migrate]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadKubernetes(t)
			edit(t, m, tc.kind, tc.obj, tc.fault)
			wantProblem(t, checkKubernetes(t, m), tc.want...)
		})
	}

	t.Run("file left out of the kustomization", func(t *testing.T) {
		m := loadKubernetes(t)
		m.kust.Resources = slices.DeleteFunc(m.kust.Resources, func(s string) bool { return s == "worker.yaml" })
		wantProblem(t, checkKubernetes(t, m), "does not list worker.yaml")
	})
	t.Run("kustomization lists a missing file", func(t *testing.T) {
		m := loadKubernetes(t)
		m.kust.Resources = append(m.kust.Resources, "ingress.yaml")
		wantProblem(t, checkKubernetes(t, m), "lists ingress.yaml")
	})
	t.Run("image not pinned", func(t *testing.T) {
		m := loadKubernetes(t)
		m.kust.Images[0].NewTag = "latest"
		wantProblem(t, checkKubernetes(t, m), `image "dsr" is not set to a pinned release`)
	})
}

func TestParseManifests(t *testing.T) {
	objs, err := parseManifests("x.yaml", "# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Metadata.Name != "a" || objs[1].Metadata.Name != "b" {
		t.Fatalf("got %v", objs)
	}
	if _, err := parseManifests("x.yaml", "kind: [\n"); err == nil {
		t.Fatal("broken YAML parsed")
	}
	for in, want := range map[string]float64{"100m": 0.1, "2": 2, "512Mi": 512 << 20, "1Gi": 1 << 30, "1G": 1e9} {
		if got, err := parseQuantity(in); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
