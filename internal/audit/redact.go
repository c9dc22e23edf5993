package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/workflows"
)

// A workflow history's payloads are the workflow's arguments, results and messages, and
// several of them are the requester's data: the identity answers of submit-identity and of
// CheckIdentity, a staff note's text, a reason typed for the requester, the records a store
// keeps. A bundle that may hold no personal data shows a payload only where an allow-list
// below knows it, and then only the fields the list names; every other payload, or field,
// reads "(withheld)". A payload type added later is so withheld until someone lists it.

// shape says which parts of a decoded JSON value may stay readable.
type shape interface{ apply(v any) any }

// keep lets a value stay as it is: one that by its type holds no personal data, such as a
// status, a time, a count or a store's name.
type keep struct{}

func (keep) apply(v any) any { return v }

// fields keeps the named fields of an object by their shapes and withholds the others.
type fields map[string]shape

func (f fields) apply(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return withhold(v)
	}
	out := make(map[string]any, len(obj))
	for k, x := range obj {
		if s, ok := f[k]; ok {
			out[k] = s.apply(x)
		} else {
			out[k] = withhold(x)
		}
	}
	return out
}

// each shapes every element of a list.
type each struct{ of shape }

func (e each) apply(v any) any {
	list, ok := v.([]any)
	if !ok {
		return withhold(v)
	}
	out := make([]any, len(list))
	for i, x := range list {
		out[i] = e.of.apply(x)
	}
	return out
}

// shapeFunc is a shape that depends on the value itself.
type shapeFunc func(v any) any

func (f shapeFunc) apply(v any) any { return f(v) }

// withhold replaces a value with withheldValue. An empty value stays: it holds nothing, and
// "(withheld)" in its place would say otherwise.
func withhold(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return v
		}
	case []any:
		if len(v) == 0 {
			return v
		}
	case map[string]any:
		if len(v) == 0 {
			return v
		}
	}
	return withheldValue
}

// The shapes of dsr's payloads. Go structs without JSON tags encode under their field names.
var (
	actorShape = fields{"name": keep{}, "role": keep{}, "id": keep{}}

	// A store's result keeps what it found, changed and kept, as categories, and why; the
	// records themselves (an export, a correction's old values, what exactly was kept, such
	// as an order number) are withheld.
	resultShape = fields{
		"store": keep{}, "found": keep{}, "changed": keep{}, "notes": keep{}, "not_found": keep{},
		"retained": each{fields{"reason": keep{}, "until": keep{}}},
		"before":   each{fields{"table": keep{}, "field": keep{}}},
	}

	requestInputShape = fields{
		"RequestID": keep{}, "Type": keep{}, "Jurisdiction": keep{}, "ReceivedAt": keep{}, "DueAt": keep{},
		"Deadline": keep{}, "Identity": keep{}, "Verification": keep{}, "OpenedBy": keep{}, "OpenedByID": keep{},
	}

	// The workflow's state, as its result. Reasons and notes' text are typed by staff and
	// may name anything; status_reason and extension_reason are withheld with them.
	requestStateShape = fields{
		"request_id": keep{}, "type": keep{}, "jurisdiction": keep{}, "status": keep{},
		"received_at": keep{}, "due_at": keep{}, "original_due_at": keep{}, "extended": keep{},
		"email_verified": keep{}, "code_expires_at": keep{}, "code_attempts_left": keep{}, "codes_issued": keep{},
		"identity_requirement": keep{}, "identity_verified": keep{}, "identity_method": keep{},
		"data_points_matched": keep{}, "identity_attempts": keep{}, "approved": keep{}, "approved_by": keep{},
		"opened_by": keep{}, "assignee": keep{}, "joined_to": keep{}, "deadline_alerted": keep{},
		"notes": each{fields{"author": keep{}, "at": keep{}}},
		"steps": each{fields{"seq": keep{}, "action": keep{}, "at": keep{}, "actor": actorShape, "status": keep{}}},
		"stores": each{fields{
			"store": keep{}, "done": keep{}, "pending": keep{}, "error": keep{}, "result": resultShape,
		}},
		"recipients": each{recipientShape},
	}

	recipientShape = fields{"name": keep{}, "channel": keep{}, "status": keep{}}

	// A step's change to the request row. Free-text reasons are withheld; Outcome, which
	// steps of older workers carried, held every store's result and is withheld whole.
	stepChangeShape = fields{
		"Status": keep{}, "DueAt": keep{}, "ExtendedAt": keep{}, "Assignee": keep{}, "JoinedTo": keep{},
		"CompletedAt": keep{}, "Progress": keep{}, "FailedStores": keep{}, "Suppress": keep{}, "ReleaseClaim": keep{},
	}

	stepShape = shapeFunc(func(v any) any {
		s := fields{
			"RequestID": keep{}, "Seq": keep{}, "At": keep{}, "Action": keep{}, "Actor": keep{}, "Role": keep{},
			"From": keep{}, "To": keep{}, "Patch": stepChangeShape,
		}
		if obj, ok := v.(map[string]any); ok {
			if action, _ := obj["Action"].(string); slices.Contains(stepsWithPlainDetails, action) {
				s["Details"] = keep{}
			}
		}
		return s.apply(v)
	})

	storeRunShape = fields{"RequestID": keep{}, "Store": keep{}, "Stores": keep{}}

	runStoreResultShape = fields{"Result": resultShape, "Pending": keep{}}

	// A notice before it is rendered: its kind and dates stay, and what it tells the
	// requester in words (a reason, a link, what exactly was kept) is withheld. Data is
	// one of the mail package's types, by Kind; this lists the fields of all of them.
	noticeShape = fields{"Key": keep{}, "Notice": fields{
		"Kind": keep{}, "RequestID": keep{}, "Organization": keep{},
		"Data": fields{
			"RequestType": keep{}, "DueDate": keep{}, "ExpiresAt": keep{}, "NewDueDate": keep{},
			"AuthorityName": keep{}, "AuthorityURL": keep{}, "ValidMinutes": keep{}, "RespondBy": keep{},
			"Found": keep{}, "Changed": keep{}, "RecipientsTold": keep{},
			"Retained": each{fields{"Reason": keep{}, "Until": keep{}}},
		},
	}}

	// staffShape is the input of a staff update: who acted, and for a few the store or the
	// assignee. Reasons and notes are withheld. Older workers sent every staff update the
	// same argument with all of these keys.
	staffShape = fields{"actor": actorShape, "store": keep{}, "assignee": keep{}}
)

// stepsWithPlainDetails are the audit steps whose details dsr writes itself (counts, code
// results, store and recipient names, request IDs, fixed sentences); every other step's
// details are a reason or note typed by staff, withheld like them.
var stepsWithPlainDetails = []string{
	"identity_checked", "code_checked", "stores_failed", "store_answered", "store_retry_requested", "store_planned",
	"recipients_notified", "joined_duplicate", "deadline_alert", "expired", "assigned",
}

// place is where a payload sits: the input or result of a workflow, activity or update,
// by its name.
type place struct {
	kind placeKind
	name string
}

type placeKind int

const (
	workflowInput placeKind = iota
	workflowResult
	activityInput
	activityResult
	updateInput
	updateResult
)

// allowed lists the payloads a bundle shows without personal data: for each place the
// shape of each argument. A place not listed is withheld whole.
var allowed = map[place][]shape{
	{workflowInput, "Request"}:         {requestInputShape},
	{workflowResult, "Request"}:        {requestStateShape},
	{workflowInput, "RetentionPurge"}:  {fields{"RequestID": keep{}, "Store": keep{}, "Until": keep{}, "Index": keep{}}},
	{workflowResult, "RetentionPurge"}: {keep{}},

	{activityInput, "RecordStep"}:           {stepShape},
	{activityInput, "RecordSteps"}:          {fields{"Steps": each{stepShape}}},
	{activityInput, "IssueCode"}:            {keep{}},
	{activityInput, "SendNotice"}:           {noticeShape},
	{activityInput, "AlertTeam"}:            {keep{}},
	{activityInput, "CheckIdentity"}:        {fields{"RequestID": keep{}}},
	{activityResult, "CheckIdentity"}:       {keep{}},
	{activityInput, "ClaimRequest"}:         {keep{}},
	{activityResult, "ClaimRequest"}:        {keep{}},
	{activityInput, "ReleaseClaim"}:         {keep{}},
	{activityInput, "AddToSuppressionList"}: {keep{}},
	{activityInput, "ListStores"}:           {keep{}},
	{activityResult, "ListStores"}:          {keep{}},
	{activityInput, "RunStore"}:             {storeRunShape},
	{activityResult, "RunStore"}:            {runStoreResultShape},
	{activityInput, "RunStores"}:            {storeRunShape},
	{activityResult, "RunStores"}: {each{fields{
		"Store": keep{}, "Result": resultShape, "Pending": keep{}, "Error": keep{}, "Retryable": keep{}, "PlanSHA256": keep{},
	}}},
	{activityInput, "PlanStores"}:         {fields{"RequestID": keep{}}},
	{activityResult, "PlanStores"}:        {each{fields{"Store": keep{}, "SHA256": keep{}, "Error": keep{}}}},
	{activityInput, "RecordStoreResult"}:  {fields{"RequestID": keep{}, "Store": keep{}, "Result": resultShape}},
	{activityResult, "RecordStoreResult"}: {runStoreResultShape},
	{activityInput, "NotifyRecipients"}:   {storeRunShape},
	{activityResult, "NotifyRecipients"}:  {each{recipientShape}},
	{activityInput, "PurgeRetained"}:      {fields{"RequestID": keep{}, "Store": keep{}, "Seq": keep{}}},
	{activityResult, "PurgeRetained"}:     {keep{}},

	// The answers of submit-identity and the code of verify-email are withheld; what they
	// came to is kept.
	{updateInput, workflows.UpdateSubmitIdentity}:  {fields{}},
	{updateResult, workflows.UpdateSubmitIdentity}: {keep{}},
	{updateInput, workflows.UpdateVerifyEmail}:     {fields{}},
	{updateResult, workflows.UpdateVerifyEmail}:    {keep{}},
	{updateResult, workflows.UpdateResendCode}:     {keep{}},
	{updateInput, workflows.UpdateVerifyIdentity}:  {staffShape},
	{updateInput, workflows.UpdateApprove}:         {staffShape},
	{updateInput, workflows.UpdateDeny}:            {staffShape},
	{updateInput, workflows.UpdateExtend}:          {staffShape},
	{updateInput, workflows.UpdateCancel}:          {staffShape},
	{updateInput, workflows.UpdateAddNote}:         {staffShape},
	{updateInput, workflows.UpdateAssign}:          {staffShape},
	{updateInput, workflows.UpdateRetryStore}:      {staffShape},
	{updateInput, workflows.UpdateStoreResult}:     {fields{"store": keep{}, "actor": actorShape, "result": resultShape}},
}

// The SDK's markers: a local activity's carries its type and attempt under "data" and its
// result under "result"; a version marker its change ID and version.
const (
	markerLocalActivity = "LocalActivity"
	markerVersion       = "Version"
)

var localActivityDataShape = fields{
	"ActivityID": keep{}, "ActivityType": keep{}, "ReplayTime": keep{}, "Attempt": keep{}, "Backoff": keep{},
}

// readableSearchAttribute reports whether a search attribute's value may stay: dsr's own
// hold statuses, types and dates by design, and the engine's hold versions.
func readableSearchAttribute(name string) bool {
	_, ours := workflows.SearchAttributes[name]
	return ours || strings.HasPrefix(name, "Temporal")
}

// redactHistory withholds every payload of h that the allow-list does not know, and the
// fields of known payloads that it does not name. It first shapes the payloads it knows,
// event by event, then visits every payload in the history and withholds those it did not
// shape: so a payload in a place this code never looked at (a header, a memo, a failure's
// details, an event type dsr does not use yet) is withheld, not shown.
func redactHistory(ctx context.Context, h *historypb.History) error {
	r := &redactor{
		shaped:   map[*commonpb.Payload]bool{},
		activity: map[int64]string{},
		update:   map[string]string{},
	}
	for _, e := range h.GetEvents() {
		r.event(e)
	}
	return proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{Visitor: r.visit})
}

type redactor struct {
	// shaped are the payloads that may stay as they now are.
	shaped map[*commonpb.Payload]bool
	// workflow is the history's workflow type, from its first event.
	workflow string
	// activity maps a scheduled event's ID to its activity type; update an update's ID to
	// its name.
	activity map[int64]string
	update   map[string]string
}

func (r *redactor) event(e *historypb.HistoryEvent) {
	switch {
	case e.GetWorkflowExecutionStartedEventAttributes() != nil:
		a := e.GetWorkflowExecutionStartedEventAttributes()
		r.workflow = a.GetWorkflowType().GetName()
		r.shape(a.GetInput(), place{workflowInput, r.workflow})
		r.searchAttributes(a.GetSearchAttributes())
	case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
		r.shape(e.GetWorkflowExecutionCompletedEventAttributes().GetResult(), place{workflowResult, r.workflow})
	case e.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
		a := e.GetWorkflowExecutionContinuedAsNewEventAttributes()
		r.shape(a.GetInput(), place{workflowInput, a.GetWorkflowType().GetName()})
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		a := e.GetActivityTaskScheduledEventAttributes()
		r.activity[e.GetEventId()] = a.GetActivityType().GetName()
		r.shape(a.GetInput(), place{activityInput, a.GetActivityType().GetName()})
	case e.GetActivityTaskCompletedEventAttributes() != nil:
		a := e.GetActivityTaskCompletedEventAttributes()
		r.shape(a.GetResult(), place{activityResult, r.activity[a.GetScheduledEventId()]})
	case e.GetMarkerRecordedEventAttributes() != nil:
		r.marker(e.GetMarkerRecordedEventAttributes())
	case e.GetWorkflowExecutionUpdateAdmittedEventAttributes() != nil:
		req := e.GetWorkflowExecutionUpdateAdmittedEventAttributes().GetRequest()
		r.update[req.GetMeta().GetUpdateId()] = req.GetInput().GetName()
		r.shape(req.GetInput().GetArgs(), place{updateInput, req.GetInput().GetName()})
	case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
		req := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
		r.update[req.GetMeta().GetUpdateId()] = req.GetInput().GetName()
		r.shape(req.GetInput().GetArgs(), place{updateInput, req.GetInput().GetName()})
	case e.GetWorkflowExecutionUpdateCompletedEventAttributes() != nil:
		a := e.GetWorkflowExecutionUpdateCompletedEventAttributes()
		r.shape(a.GetOutcome().GetSuccess(), place{updateResult, r.update[a.GetMeta().GetUpdateId()]})
	case e.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil:
		a := e.GetStartChildWorkflowExecutionInitiatedEventAttributes()
		r.shape(a.GetInput(), place{workflowInput, a.GetWorkflowType().GetName()})
	case e.GetChildWorkflowExecutionCompletedEventAttributes() != nil:
		a := e.GetChildWorkflowExecutionCompletedEventAttributes()
		r.shape(a.GetResult(), place{workflowResult, a.GetWorkflowType().GetName()})
	case e.GetUpsertWorkflowSearchAttributesEventAttributes() != nil:
		r.searchAttributes(e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes())
	}
}

func (r *redactor) marker(m *historypb.MarkerRecordedEventAttributes) {
	details := m.GetDetails()
	switch m.GetMarkerName() {
	case markerLocalActivity:
		data := details["data"]
		r.shapeWith(data, []shape{localActivityDataShape})
		var lamd struct{ ActivityType string }
		if len(data.GetPayloads()) == 1 && r.shaped[data.GetPayloads()[0]] {
			_ = json.Unmarshal(data.GetPayloads()[0].GetData(), &lamd)
		}
		r.shape(details["result"], place{activityResult, lamd.ActivityType})
	case markerVersion:
		r.shapeWith(details["change-id"], []shape{keep{}})
		r.shapeWith(details["version"], []shape{keep{}})
	}
}

func (r *redactor) searchAttributes(sa *commonpb.SearchAttributes) {
	for name, p := range sa.GetIndexedFields() {
		if readableSearchAttribute(name) {
			r.shaped[p] = true
		}
	}
}

// shape shapes the payloads at p by the allow-list, and leaves them to be withheld when it
// does not list p.
func (r *redactor) shape(ps *commonpb.Payloads, p place) {
	if shapes, ok := allowed[p]; ok {
		r.shapeWith(ps, shapes)
	}
}

// shapeWith shapes each payload by the shape of its position; one past them is left to be
// withheld.
func (r *redactor) shapeWith(ps *commonpb.Payloads, shapes []shape) {
	for i, pl := range ps.GetPayloads() {
		if i >= len(shapes) {
			return
		}
		if out, ok := shapePayload(pl, shapes[i]); ok {
			ps.Payloads[i] = out
			r.shaped[out] = true
		}
	}
}

// visit withholds every payload that was not shaped. A payload that holds no value (a nil
// result) stays, as there is nothing in it to withhold.
func (r *redactor) visit(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(ps))
	for i, p := range ps {
		switch {
		case r.shaped[p], isNull(p):
			out[i] = p
		default:
			out[i] = withheldPayload
		}
	}
	return out, nil
}

// withheldPayload stands in for a payload left out of a bundle; it reads "(withheld)".
var withheldPayload = func() *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(withheldValue)
	if err != nil {
		panic(err) // a string always converts
	}
	return p
}()

const (
	encodingJSON = "json/plain"
	encodingNull = "binary/null"
)

func isNull(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == encodingNull && len(p.GetData()) == 0
}

// shapePayload decodes a JSON payload, shapes its value and encodes it again. A payload in
// another encoding cannot be read, so is not shaped (and is withheld), except a nil value.
func shapePayload(p *commonpb.Payload, s shape) (*commonpb.Payload, bool) {
	if isNull(p) {
		return p, true
	}
	if string(p.GetMetadata()[converter.MetadataEncoding]) != encodingJSON {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(p.GetData()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.apply(v)); err != nil {
		return nil, false
	}
	return &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(encodingJSON)},
		Data:     bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
	}, true
}
