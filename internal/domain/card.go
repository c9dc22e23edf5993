package domain

// CardNumberDigits returns the digits of s when s looks like a payment card number: 13 to
// 19 digits, optionally grouped by spaces or dashes, that pass the Luhn check card numbers
// carry. Intake refuses such values and the report masks them, since dsr never holds one.
func CardNumberDigits(s string) (string, bool) {
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9':
			digits = append(digits, b)
		case b == ' ' || b == '-':
		default:
			return "", false
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return "", false
	}
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(digits), sum%10 == 0
}
