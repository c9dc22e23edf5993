package domain

// Category is a kind of PII. Only some may be corrected by the requester: order history,
// logs and the like record what happened and are suppressed, not rewritten.
type Category struct {
	Name        string `json:"name"`
	Correctable bool   `json:"correctable"`
}

// Categories is the set of PII categories a deployment knows, in display order.
type Categories []Category

// Find returns the category called name.
func (cs Categories) Find(name string) (Category, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return Category{}, false
}

// Names returns the categories' names, in order.
func (cs Categories) Names() []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}

// DefaultCategories returns the categories the privacy policy names, for use until a
// deployment describes its own systems in a data map.
func DefaultCategories() Categories {
	cs := Categories{}
	for _, n := range []string{"name", "postal_address", "phone", "title", "occupation", "company", "username", "profile"} {
		cs = append(cs, Category{Name: n, Correctable: true})
	}
	for _, n := range []string{"order_history", "payment_card_last4", "server_logs", "cookies", "analytics"} {
		cs = append(cs, Category{Name: n})
	}
	return cs
}
