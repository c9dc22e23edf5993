package drp

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/keys"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
	"github.com/dsr-project/dsr/workflows"
)

// Store is the part of the application database the protocol uses; *requestdb.Repo is one.
type Store interface {
	SaveDRPToken(ctx context.Context, agentID, tokenHash string, at time.Time) error
	DRPAgentOfToken(ctx context.Context, tokenHash string) (string, error)
	RememberDRPMessage(ctx context.Context, signatureHash, agentID string, expiresAt, now time.Time) (bool, error)
	CreateDRPRequest(ctx context.Context, d *requestdb.DRPRequest) error
	GetDRPRequest(ctx context.Context, requestID string) (*requestdb.DRPRequest, error)
	SetDRPRevoked(ctx context.Context, requestID string, at *time.Time) error
	GetRequest(ctx context.Context, id string) (*requestdb.Request, error)
	AuditEvents(ctx context.Context, requestID string) ([]requestdb.AuditEvent, error)
}

// Options are the protocol service's dependencies.
type Options struct {
	Directory *Directory
	// BusinessID is dsr's id in the Covered Business directory: the business-id every
	// message must name (section 3.07).
	BusinessID string
	Store      Store
	Requests   *requests.Service
	Links      links.Builder
	// Business is dsr's discovery document (section 3.05.2).
	Business Business
	// Now is the clock of every check; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Service answers authorized agents. It is safe for concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
}

// New returns a Service.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, log: opts.Log}
}

// Business is dsr's discovery document.
func (s *Service) Business() Business { return s.opts.Business }

// TokenAnswer is the answer to the pair-wise key setup (section 2.05.1).
type TokenAnswer struct {
	AgentID string `json:"agent-id"`
	Token   string `json:"token"`
}

// envelope is what every signed message of an agent carries (sections 2.01, 2.05).
type envelope struct {
	AgentID    string `json:"agent-id"`
	BusinessID string `json:"business-id"`
	IssuedAt   string `json:"issued-at"`
	ExpiresAt  string `json:"expires-at"`
	Version    string `json:"drp.version"`
}

// Address is the address claim of OpenID Connect Core 1.0 section 5.1.1 (section 3.04).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// exerciseMessage is the Data Rights Exercise message (section 2.01) with the identity
// claims of section 3.04.
type exerciseMessage struct {
	envelope
	AgentRequestID string   `json:"agent-request-id"`
	Exercise       string   `json:"exercise"`
	Regime         string   `json:"regime"`
	Relationships  []string `json:"relationships"`
	StatusCallback string   `json:"status_callback"`

	Name                string   `json:"name"`
	Email               string   `json:"email"`
	EmailVerified       bool     `json:"email_verified"`
	PhoneNumber         string   `json:"phone_number"`
	PhoneNumberVerified bool     `json:"phone_number_verified"`
	Address             *Address `json:"address"`
	AddressVerified     bool     `json:"address_verified"`
}

// SetUpAgent answers the pair-wise key setup (section 2.05): the message must be signed by
// the key the directory holds for the agent the path names, and pass every check of 3.07.
// Any failure answers 403 without a body (2.05.1). A new token replaces the agent's last.
func (s *Service) SetUpAgent(ctx context.Context, pathAgentID string, body []byte) (TokenAnswer, error) {
	agent, ok := s.opts.Directory.Agent(pathAgentID)
	if !ok {
		return TokenAnswer{}, forbiddenNoBody("unknown agent")
	}
	var msg envelope
	if err := s.check(ctx, agent, body, &msg); err != nil {
		return TokenAnswer{}, forbiddenNoBody(err.Error())
	}
	if msg.Version != Version {
		return TokenAnswer{}, forbiddenNoBody("unsupported drp.version")
	}
	token, hash, err := keys.NewToken()
	if err != nil {
		return TokenAnswer{}, fmt.Errorf("drp token: %w", err)
	}
	if err := s.opts.Store.SaveDRPToken(ctx, agent.ID, hash, s.opts.Now()); err != nil {
		return TokenAnswer{}, unavailable(err)
	}
	s.log.Info("drp agent token issued", "agent_id", agent.ID)
	return TokenAnswer{AgentID: agent.ID, Token: token}, nil
}

// AgentOfToken returns the agent holding the bearer token of an Authorization header.
func (s *Service) AgentOfToken(ctx context.Context, authorization string) (Agent, error) {
	scheme, token, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Agent{}, &Error{Status: http.StatusUnauthorized, Message: "a bearer token from POST /v1/agent/{agent-id} is required"}
	}
	id, err := s.opts.Store.DRPAgentOfToken(ctx, keys.HashToken(strings.TrimSpace(token)))
	if errors.Is(err, requestdb.ErrNotFound) {
		return Agent{}, &Error{Status: http.StatusUnauthorized, Message: "the bearer token is not valid"}
	}
	if err != nil {
		return Agent{}, unavailable(err)
	}
	agent, ok := s.opts.Directory.Agent(id)
	if !ok {
		// The agent has left the directory since it set up its token.
		return Agent{}, &Error{Status: http.StatusForbidden, Message: "the agent is not in the agent directory"}
	}
	return agent, nil
}

// AgentInformation answers section 2.06: the token must belong to the agent of the path.
func (s *Service) AgentInformation(agent Agent, pathAgentID string) error {
	if agent.ID != pathAgentID {
		return &Error{Status: http.StatusForbidden, Message: "the bearer token belongs to another agent"}
	}
	return nil
}

// Exercise takes a Data Rights Exercise request (section 2.01) and opens the dsr request
// its rights action maps to.
func (s *Service) Exercise(ctx context.Context, agent Agent, body []byte) (ExerciseStatus, error) {
	var msg exerciseMessage
	if err := s.check(ctx, agent, body, &msg); err != nil {
		return ExerciseStatus{}, err
	}
	in, err := s.intake(msg)
	if err != nil {
		return ExerciseStatus{}, err
	}
	opened, _, err := s.opts.Requests.Open(ctx, in, opening(agent))
	if err != nil {
		return ExerciseStatus{}, fromDomain(err)
	}
	link := &requestdb.DRPRequest{
		RequestID: opened.ID, AgentID: agent.ID, AgentRequestID: msg.AgentRequestID, Exercise: msg.Exercise,
		Regime: msg.Regime, StatusCallback: msg.StatusCallback, ReceivedAt: s.opts.Now(),
		IdentityAnswers: dataPoints(msg),
	}
	if err := s.opts.Store.CreateDRPRequest(ctx, link); err != nil {
		s.log.Error("drp request opened but not linked to its agent", "request_id", opened.ID, "agent_id", agent.ID, "error", err)
		return ExerciseStatus{}, unavailable(err)
	}
	s.log.Info("drp request opened", "request_id", opened.ID, "agent_id", agent.ID, "exercise", msg.Exercise)
	return s.Status(ctx, agent, opened.ID)
}

// opening is how an agent's request is opened: the one place that says who opened it. The
// request row names the agent (the staff pages, the metrics and the person's code mail
// show it); the agent's signature stands in for a permission file, so staff review none.
func opening(a Agent) requests.Opening {
	return requests.Opening{Agent: &requests.Agent{
		Name: a.Name, Contact: cmp.Or(a.BusinessContact, a.TechnicalContact), Kind: requests.AgentByDRP, AgentID: a.ID,
	}}
}

// intake turns an exercise message into a dsr intake, refusing what dsr cannot honour.
func (s *Service) intake(msg exerciseMessage) (requests.Intake, error) {
	if msg.Version != Version {
		return requests.Intake{}, badRequest("drp.version must be " + Version)
	}
	action, ok := rightsActions[msg.Exercise]
	if !ok {
		// 3.06's own example.
		return requests.Intake{}, badRequest("Unsupported rights actions submitted.")
	}
	jurisdiction, ok := jurisdictionOf(msg.Regime)
	if !ok {
		return requests.Intake{}, badRequest("regime must be ccpa or absent (DRP 1.0 section 3.01)")
	}
	if msg.StatusCallback != "" && !callbackAllowed(msg.StatusCallback) {
		return requests.Intake{}, badRequest("status_callback must be an https URL")
	}
	if strings.TrimSpace(msg.Email) == "" {
		return requests.Intake{}, badRequest("the email claim is required: requests are matched by e-mail address")
	}
	form := requests.IntakeForm{
		Type: string(action.Type), Email: msg.Email, Jurisdiction: string(jurisdiction), Details: action.Details,
	}
	in, err := s.opts.Requests.ValidateIntake(form, nil, false)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Fields["email"] != "" {
			return requests.Intake{}, badRequest("the email claim is not a valid e-mail address")
		}
		return requests.Intake{}, fromDomain(err)
	}
	return in, nil
}

// callbackAllowed accepts an https URL, or http to a loopback address for an agent on the
// same host.
func callbackAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))
}

// Status answers section 2.02 for the agent that manages the request.
func (s *Service) Status(ctx context.Context, agent Agent, requestID string) (ExerciseStatus, error) {
	if _, err := s.ownLink(ctx, agent, requestID); err != nil {
		return ExerciseStatus{}, err
	}
	return StatusOf(ctx, s.opts.Store, s.opts.Links, requestID)
}

// revokeMessage is the Data Rights Revoke message (section 2.04). Its only field is
// reason; an agent that also signs the envelope's claims has them checked.
type revokeMessage struct {
	envelope
	Reason string `json:"reason"`
}

// revokeReplayWindow is how long a revoke that carries no expires-at is remembered.
const revokeReplayWindow = 24 * time.Hour

// Revoke answers section 2.04: the message is verified with the key of the agent that holds
// the bearer token, and the request is withdrawn if it still can be.
func (s *Service) Revoke(ctx context.Context, agent Agent, requestID string, body []byte) (ExerciseStatus, error) {
	var msg revokeMessage
	if err := s.check(ctx, agent, body, &msg); err != nil {
		return ExerciseStatus{}, err
	}
	if _, err := s.ownLink(ctx, agent, requestID); err != nil {
		return ExerciseStatus{}, err
	}
	now := s.opts.Now()
	if err := s.opts.Store.SetDRPRevoked(ctx, requestID, &now); err != nil {
		return ExerciseStatus{}, unavailable(err)
	}
	reason := strings.TrimSpace(msg.Reason)
	if reason == "" {
		reason = "revoked by the authorized agent"
	}
	err := s.opts.Requests.Act(ctx, requestID, requests.StaffAction{
		Name: "cancel", Reason: reason,
		Actor: workflows.Actor{Name: "authorized agent " + agent.Name, Role: domain.RoleRequester},
	})
	if err != nil {
		if uerr := s.opts.Store.SetDRPRevoked(ctx, requestID, nil); uerr != nil {
			s.log.Error("drp revoke refused but left marked", "request_id", requestID, "error", uerr)
		}
		if domain.ErrorCodeOf(err) == domain.CodeConflict {
			return ExerciseStatus{}, &Error{Status: http.StatusConflict, Message: "the request can no longer be revoked: " + domain.AsError(err).Message}
		}
		return ExerciseStatus{}, fromDomain(err)
	}
	s.log.Info("drp request revoked", "request_id", requestID, "agent_id", agent.ID)
	st, err := StatusOf(ctx, s.opts.Store, s.opts.Links, requestID)
	if err != nil {
		return ExerciseStatus{}, err
	}
	// The workflow closes the request a moment after taking the cancellation; the answer
	// carries the new state at once, as 2.04.1 requires.
	st.Status, st.Reason, st.ProcessingDetails, st.ExpectedBy, st.UserVerificationURL = StateRevoked, "", "", "", ""
	return st, nil
}

// ownLink returns the agent's link to a request: 404 for a request no agent opened, 403
// for one another agent manages (section 2.02.1).
func (s *Service) ownLink(ctx context.Context, agent Agent, requestID string) (*requestdb.DRPRequest, error) {
	link, err := s.opts.Store.GetDRPRequest(ctx, requestID)
	switch {
	case errors.Is(err, requestdb.ErrNotFound):
		return nil, &Error{Status: http.StatusNotFound, Message: "no such data rights request"}
	case err != nil:
		return nil, unavailable(err)
	case link.AgentID != agent.ID:
		return nil, &Error{Status: http.StatusForbidden, Message: "another agent manages this request"}
	}
	return link, nil
}

// check opens a signed message of agent and validates it in the order of section 3.07,
// decoding its JSON into msg, which embeds an envelope. A revoke may omit the envelope's
// claims; every other message must carry them all. A message is taken once: a replay of
// one already taken is refused.
func (s *Service) check(ctx context.Context, agent Agent, body []byte, msg any) error {
	payload, signature, err := openMessage(body, agent.Key())
	if err != nil {
		return &Error{Status: http.StatusForbidden, Message: err.Error()}
	}
	if err := json.Unmarshal(payload, msg); err != nil {
		return badRequest("the signed message is not a JSON object")
	}
	env, revoke := envelopeOf(msg)
	now := s.opts.Now()
	expires := now.Add(revokeReplayWindow)
	if !revoke || env != (envelope{}) {
		if expires, err = checkEnvelope(env, agent.ID, s.opts.BusinessID, now); err != nil {
			return err
		}
	}
	// Ed25519 signs deterministically and Go's verifier refuses non-canonical signatures,
	// so a message has exactly one valid signature: its hash names the message.
	sum := sha256.Sum256(signature)
	fresh, err := s.opts.Store.RememberDRPMessage(ctx, hex.EncodeToString(sum[:]), agent.ID, expires, now)
	if err != nil {
		return unavailable(err)
	}
	if !fresh {
		return &Error{Status: http.StatusConflict, Message: "this signed message was already received; sign a new one", Fatal: true}
	}
	return nil
}

func envelopeOf(msg any) (envelope, bool) {
	switch m := msg.(type) {
	case *envelope:
		return *m, false
	case *exerciseMessage:
		return m.envelope, false
	case *revokeMessage:
		return m.envelope, true
	}
	panic(fmt.Sprintf("drp: no envelope in %T", msg))
}

// checkEnvelope runs the checks of section 3.07 after the signature, in its order, and
// returns when the message expires.
func checkEnvelope(env envelope, agentID, businessID string, now time.Time) (time.Time, error) {
	if env.AgentID != agentID {
		return time.Time{}, &Error{Status: http.StatusForbidden, Message: "agent-id does not name the agent of the bearer token"}
	}
	if env.BusinessID != businessID {
		return time.Time{}, &Error{Status: http.StatusForbidden, Message: "business-id does not name this business"}
	}
	issued, ok := parseTime(env.IssuedAt)
	if !ok {
		return time.Time{}, badRequest("issued-at is not an ISO 8601 timestamp")
	}
	expires, ok := parseTime(env.ExpiresAt)
	if !ok {
		return time.Time{}, badRequest("expires-at is not an ISO 8601 timestamp")
	}
	if !now.After(issued) {
		return time.Time{}, badRequest("issued-at is in the future; check the agent's clock")
	}
	if !now.Before(expires) {
		// 2.01: discard it and answer a fatal error.
		return time.Time{}, &Error{Status: http.StatusBadRequest, Message: "the message has expired (expires-at has passed)", Fatal: true}
	}
	return expires, nil
}
