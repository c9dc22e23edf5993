package discover

import "testing"

func TestColumnNamesSuggestTheirKind(t *testing.T) {
	for name, want := range map[string]Kind{
		"contact_email": Email, "EmailAddress": Email, "client_ip": IPAddress, "ip": IPAddress,
		"card_number": CardNumber, "date_of_birth": BirthDate, "dob": BirthDate, "mobilePhone": Phone,
		"billing_postal_code": PostalAddress, "street": PostalAddress, "first_name": Name, "surname": Name,
		"list_name": None, "product_name": None, "card_last4": None, "id": None, "shipping": None, "billing_address_id": None, "email_ref": None,
	} {
		if got := byName(name); got != want {
			t.Errorf("byName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestValuesThatOnlyResemblePersonalDataAreNotFlagged(t *testing.T) {
	for value, want := range map[string]Kind{
		"ada@example.com": Email, "4111 1111 1111 1111": CardNumber, "198.51.100.7": IPAddress, "2001:db8::1": IPAddress,
		"+44 20 7946 0815": Phone, "020 7946 0815": Phone, "12 Park Row": PostalAddress,
		"2024-01-31": None, "31.01.2024": None, "DEMO-70001": None, "1234567": None, "Happy birthday": None, "v1.2": None,
	} {
		if got := byContent(value); got != want {
			t.Errorf("byContent(%q) = %q, want %q", value, got, want)
		}
	}
}
