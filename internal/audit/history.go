package audit

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// TemporalHistory returns an ExportDeps.History that reads a workflow's history (its latest
// run) from Temporal and decodes its payloads with codec (nil leaves them as the engine
// stores them). A workflow the engine does not know gives ErrHistoryNotFound.
func TemporalHistory(c client.Client, codec converter.PayloadCodec) func(ctx context.Context, workflowID string) (*historypb.History, error) {
	return func(ctx context.Context, workflowID string) (*historypb.History, error) {
		history := &historypb.History{}
		iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil, fmt.Errorf("workflow %s: %w", workflowID, ErrHistoryNotFound)
			}
			if err != nil {
				return nil, fmt.Errorf("history of workflow %s: %w", workflowID, err)
			}
			history.Events = append(history.Events, ev)
		}
		if codec != nil {
			err := proxy.VisitPayloads(ctx, history, proxy.VisitPayloadsOptions{
				SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
					return codec.Decode(p)
				},
			})
			if err != nil {
				return nil, fmt.Errorf("decode history of workflow %s: %w", workflowID, err)
			}
		}
		return history, nil
	}
}

// marshalHistory encodes a history as `temporal workflow show -o json` does, JSON payloads
// shown as JSON.
func marshalHistory(history *historypb.History) ([]byte, error) {
	raw, err := temporalproto.CustomJSONMarshalOptions{
		Indent: "  ",
		// As the temporal CLI prints them: JSON payloads as JSON, not base64.
		Metadata: map[string]any{commonpb.EnablePayloadShorthandMetadataKey: true},
	}.Marshal(history)
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}
