package api

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// maxMetricsSpan bounds one report; CCPA §7102 asks for a calendar year at a time.
const maxMetricsSpan = 5 * 366 * 24 * time.Hour

// MetricsReport is what CCPA §7102 asks a large business to publish for a period: how many
// requests were received, complied with and denied, and the median and mean days to respond.
// A request counts in the month it was received, and as completed or denied in the month it
// was answered; days to respond run from receipt to that answer.
type MetricsReport struct {
	From          time.Time                                 `json:"from"`
	To            time.Time                                 `json:"to"`
	Months        []MonthMetrics                            `json:"months"`
	Totals        Counts                                    `json:"totals"`
	DaysToRespond ResponseDays                              `json:"days_to_respond"`
	ByType        map[domain.RequestType]RequestTypeMetrics `json:"by_type"`
	// ByMonth is every calendar month of the period, those without requests included,
	// with all types summed and the days that month's answers took.
	ByMonth []MonthSummary `json:"by_month"`
	// Appeals are the appeals of refusals received in the period and those decided in it.
	Appeals AppealMetrics `json:"appeals"`
	// ByAgent counts the requests authorized agents made, by agent, in name order;
	// Agents sums them. The rest people made themselves (or staff opened).
	ByAgent []AgentMetrics `json:"by_agent"`
	Agents  Counts         `json:"agents"`
}

// AppealMetrics count appeals received, granted and denied, and the days decisions took.
type AppealMetrics struct {
	Received     int          `json:"received"`
	Granted      int          `json:"granted"`
	Denied       int          `json:"denied"`
	DaysToDecide ResponseDays `json:"days_to_decide"`
}

// AgentMetrics counts the requests one authorized agent made.
type AgentMetrics struct {
	Agent string `json:"agent"`
	Counts
}

// MonthSummary is one calendar month (UTC, YYYY-MM) of every type.
type MonthSummary struct {
	Month string `json:"month"`
	Counts
	DaysToRespond ResponseDays `json:"days_to_respond"`
}

// Counts are requests received, completed and denied.
type Counts struct {
	Received  int `json:"received"`
	Completed int `json:"completed"`
	Denied    int `json:"denied"`
}

// MonthMetrics counts one request type in one calendar month (UTC, YYYY-MM).
type MonthMetrics struct {
	Month string             `json:"month"`
	Type  domain.RequestType `json:"type"`
	Counts
}

// ResponseDays summarises the days answers took, rounded to a tenth of a day.
type ResponseDays struct {
	Count  int     `json:"count"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
}

// RequestTypeMetrics are the period's totals for one request type.
type RequestTypeMetrics struct {
	Counts
	DaysToRespond ResponseDays `json:"days_to_respond"`
}

// metrics reports on [from, to): by default the twelve months up to now.
func (s *Server) metrics(c echo.Context) error {
	for name := range c.QueryParams() {
		if name != "from" && name != "to" {
			return errUnknownParameter
		}
	}
	from, to, err := s.metricsPeriod(c)
	if err != nil {
		return err
	}
	m, err := s.opts.Requests.RequestMetrics(c.Request().Context(), from, to)
	if err != nil {
		return unavailable(err)
	}
	return c.JSON(http.StatusOK, metricsReport(from, to, m))
}

// metricsPeriod reads from and to, for the API and the metrics page.
func (s *Server) metricsPeriod(c echo.Context) (from, to time.Time, err error) {
	to = s.opts.Now().UTC()
	fields := map[string]string{}
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := c.QueryParam(name); v != "" {
			t, err := parseInstant(v)
			if err != nil {
				fields[name] = "must be a date (YYYY-MM-DD) or an RFC 3339 time"
			}
			*dst = t
		}
	}
	if from.IsZero() && fields["from"] == "" {
		from = to.AddDate(-1, 0, 0)
	}
	if len(fields) == 0 && (!from.Before(to) || to.Sub(from) > maxMetricsSpan) {
		fields["from"] = "must be before to, and at most five years before it"
	}
	if len(fields) > 0 {
		return time.Time{}, time.Time{}, invalidFields(fields)
	}
	return from, to, nil
}

func metricsReport(from, to time.Time, m requestdb.Metrics) MetricsReport {
	r := MetricsReport{
		From: from, To: to, Months: make([]MonthMetrics, len(m.Months)),
		DaysToRespond: responseDays(m.Responses), ByType: map[domain.RequestType]RequestTypeMetrics{},
		Appeals: AppealMetrics{Received: m.Appeals.Received, Granted: m.Appeals.Granted, Denied: m.Appeals.Denied,
			DaysToDecide: responseDays(m.Appeals.DaysToDecide)},
	}
	r.ByAgent = []AgentMetrics{}
	for _, name := range slices.Sorted(maps.Keys(m.ByAgent)) {
		mc := m.ByAgent[name]
		counts := Counts{Received: mc.Received, Completed: mc.Completed, Denied: mc.Denied}
		r.ByAgent = append(r.ByAgent, AgentMetrics{Agent: name, Counts: counts})
		r.Agents = r.Agents.add(counts)
	}
	for i, mc := range m.Months {
		counts := Counts{Received: mc.Received, Completed: mc.Completed, Denied: mc.Denied}
		r.Months[i] = MonthMetrics{Month: mc.Month, Type: mc.Type, Counts: counts}
		r.Totals = r.Totals.add(counts)
		t := r.ByType[mc.Type]
		t.Counts = t.Counts.add(counts)
		r.ByType[mc.Type] = t
	}
	for typ, times := range m.ByType {
		t := r.ByType[typ]
		t.DaysToRespond = responseDays(times)
		r.ByType[typ] = t
	}
	for _, month := range monthsOf(from, to) {
		sum := MonthSummary{Month: month, DaysToRespond: responseDays(m.ByMonth[month])}
		for _, mc := range r.Months {
			if mc.Month == month {
				sum.Counts = sum.Counts.add(mc.Counts)
			}
		}
		r.ByMonth = append(r.ByMonth, sum)
	}
	return r
}

// monthsOf lists the calendar months (UTC, YYYY-MM) that [from, to) touches.
func monthsOf(from, to time.Time) []string {
	var out []string
	last := to.UTC().Add(-time.Nanosecond)
	for m := time.Date(from.UTC().Year(), from.UTC().Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(last); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

func (a Counts) add(b Counts) Counts {
	return Counts{Received: a.Received + b.Received, Completed: a.Completed + b.Completed, Denied: a.Denied + b.Denied}
}

func responseDays(t requestdb.ResponseTimes) ResponseDays {
	tenth := func(x float64) float64 { return math.Round(x*10) / 10 }
	return ResponseDays{Count: t.Count, Median: tenth(t.MedianDays), Mean: tenth(t.MeanDays)}
}
