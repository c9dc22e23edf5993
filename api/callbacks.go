package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/domain"
)

// callbackPath is where webhook stores post results they promised with a 202; the request
// dsr sent them names it as callback_url.
const callbackPath = "/api/v1/callbacks/:id"

var (
	errCallbackTooLarge     = fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the callback is larger than %d MB", webhook.MaxBodyBytes>>20))
	errCallbackWrongKey     = fail(http.StatusUnauthorized, "the callback is not signed with the key of the store it answers for")
	errCallbackOtherRequest = fail(http.StatusUnauthorized, "the callback answers for another request than its URL names")
)

// storeCallback takes a store's late result. The signature is the only credential, so the
// body is read and verified by webhook.ParseCallback before anything else looks at it, and
// a key may only answer for its own store.
func (s *Server) storeCallback(c echo.Context) error {
	cb, err := webhook.ParseCallback(c.Request(), s.opts.CallbackKeys, s.opts.Now())
	if err != nil {
		return callbackError(err)
	}
	switch {
	case cb.KeyID != s.opts.CallbackStores[cb.Store]:
		return errCallbackWrongKey
	case cb.RequestID != c.Param("id"):
		return errCallbackOtherRequest
	}
	if err := s.svc.StoreAnswered(c.Request().Context(), cb.RequestID, cb.Store, cb.Result); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// callbackError answers as the webhook protocol says. ParseCallback's messages say which
// check failed and quote nothing of the body, so they help the service's developers.
func callbackError(err error) error {
	reason := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "callback: "), ": "+domain.ErrInvalid.Error())
	switch {
	case errors.Is(err, webhook.ErrSignature):
		return fail(http.StatusUnauthorized, reason)
	case errors.Is(err, webhook.ErrTooLarge):
		return errCallbackTooLarge
	case errors.Is(err, domain.ErrInvalid):
		return fail(http.StatusBadRequest, "the callback is not valid: "+reason)
	}
	return readError(err)
}
