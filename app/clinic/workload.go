package clinic

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"hearth/app/store"
)

// Workload is the numbers behind the workload view.
type Workload struct {
	Queues          []QueueCount   `json:"queues"`
	ByType          map[string]int `json:"by_type"`
	ByStaff         []StaffLoad    `json:"by_staff"`
	Unassigned      int            `json:"unassigned"`
	MedianFirstResp struct {
		TodayMinutes float64 `json:"today_minutes"`
		WeekMinutes  float64 `json:"week_minutes"`
	} `json:"median_first_response"`
	ClosedToday int `json:"closed_today"`
	NewToday    int `json:"new_today"`
}

// StaffLoad is one person's open items.
type StaffLoad struct {
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Open    int    `json:"open"`
	Overdue int    `json:"overdue"`
}

// Workload counts from the plain item records only: no record is opened.
func (c *Clinic) Workload(ctx context.Context, a Actor) (Workload, error) {
	var w Workload
	if a.Kind != ActorStaff {
		return w, ErrForbidden
	}
	settings, err := c.Settings(ctx)
	if err != nil {
		return w, err
	}
	if w.Queues, err = c.QueueCounts(ctx, a); err != nil {
		return w, err
	}
	loc := settings.Location()
	now := c.now()
	y, mo, d := now.In(loc).Date()
	today := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	week := today.AddDate(0, 0, -6)
	w.ByType = map[string]int{}
	perStaff := map[string]*StaffLoad{}
	var respToday, respWeek []float64
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Each(bucketItemMeta, "", func(_ string, v []byte) error {
			var m ItemMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if !settings.mayQueue(a.Role, m.Queue) {
				return nil
			}
			if !m.Created.Before(today) {
				w.NewToday++
			}
			if m.Status == StatusClosed {
				if !m.Closed.Before(today) {
					w.ClosedToday++
				}
			} else {
				w.ByType[m.Type]++
				if m.Assignee == "" {
					w.Unassigned++
				} else {
					sl := perStaff[m.Assignee]
					if sl == nil {
						sl = &StaffLoad{StaffID: m.Assignee}
						perStaff[m.Assignee] = sl
					}
					sl.Open++
					if m.Overdue(now) {
						sl.Overdue++
					}
				}
			}
			if !m.FirstReply.IsZero() && !m.Created.Before(week) {
				mins := m.FirstReply.Sub(m.Created).Minutes()
				respWeek = append(respWeek, mins)
				if !m.Created.Before(today) {
					respToday = append(respToday, mins)
				}
			}
			return nil
		})
	})
	if err != nil {
		return w, err
	}
	w.MedianFirstResp.TodayMinutes = median(respToday)
	w.MedianFirstResp.WeekMinutes = median(respWeek)
	for id, sl := range perStaff {
		if st, err := c.staffCached(ctx, id); err == nil {
			sl.Name, sl.Role = st.Name, st.Role
		}
		w.ByStaff = append(w.ByStaff, *sl)
	}
	sort.Slice(w.ByStaff, func(i, j int) bool { return w.ByStaff[i].Open > w.ByStaff[j].Open })
	return w, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	} else {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
}
