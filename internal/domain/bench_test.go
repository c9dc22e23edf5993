package domain_test

import (
	"testing"

	"github.com/dsr-project/dsr/internal/domain"
)

func BenchmarkValidateIntakeOfACorrection(b *testing.B) {
	d := domain.Details{Changes: []domain.FieldChange{{Field: "name", Value: "Ada King"}, {Field: "phone", Value: "+44 20 7946 0000"}}}
	cats := domain.DefaultCategories()
	b.ReportAllocs()
	for b.Loop() {
		if err := domain.ValidateIntake(domain.TypeCorrect, d, cats); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := domain.NormalizeEmail("  Zoe\u0308.Archer@Bu\u0308cher.Example "); err != nil {
			b.Fatal(err)
		}
	}
}
