package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"hearth/app/bench"
	"hearth/app/clinic"
	"hearth/app/config"
)

// benchCmd: hearth bench [--data DIR] [--patients N] [--messages N] [--staff N] [--roundtrip D] [--roundtrip-staff N] [--json]
func benchCmd(ctx context.Context, args []string, env Env) (err error) {
	fs := flag.NewFlagSet("hearth bench", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var data, storeURL string
	var patients, messages, items, sockets, writers int
	var asJSON bool
	var ingest, roundtrip time.Duration
	var rtSockets int
	fs.StringVar(&data, "data", "", "data folder to fill (kept) or reuse; default: a temporary folder, removed afterwards")
	fs.StringVar(&storeURL, "store", "", "postgres://... to benchmark the PostgreSQL store (env HEARTH_STORE)")
	fs.IntVar(&patients, "patients", 50_000, "patients in the store")
	fs.IntVar(&messages, "messages", 1_000_000, "messages in the store")
	fs.IntVar(&items, "items", 0, "items in the store (default: messages / 10)")
	fs.IntVar(&sockets, "staff", 500, "staff websockets held open")
	fs.IntVar(&writers, "writers", 64, "patients posting at once")
	fs.DurationVar(&ingest, "ingest", 10*time.Second, "how long to measure ingest")
	fs.DurationVar(&roundtrip, "roundtrip", 0, "how long to measure patient round trips (default: as long as --ingest)")
	fs.IntVar(&rtSockets, "roundtrip-staff", 200, "staff websockets listening during the round trips (at most --staff)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if storeURL == "" { // not the flag's default: help would print it, password and all
		storeURL = env.Getenv("HEARTH_STORE")
	}
	if items == 0 {
		items = max(1, messages/10)
	}
	if patients < 1 || messages < items || items < 1 {
		return errors.New("--patients must be at least 1 and --messages at least --items")
	}
	temp := data == ""
	if temp {
		d, err := os.MkdirTemp("", "hearth-bench-")
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, os.RemoveAll(d)) }()
		data = filepath.Join(d, "data")
	}
	c := config.Config{Data: data, Store: storeURL}
	say := func(format string, a ...any) {
		if !asJSON {
			// Progress notes only: a failed one must not stop a measurement.
			_, _ = fmt.Fprintf(env.Stderr, "bench: "+format+"\n", a...)
		}
	}
	if _, err := os.Stat(bench.CredsPath(data)); err != nil {
		if err := benchFill(ctx, c, env, patients, items, messages, say); err != nil {
			return err
		}
	} else {
		say("reusing the store in %s", data)
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	res, err := bench.Run(ctx, bench.Config{Bin: bin, Data: data, Store: storeURL, Sockets: sockets, Writers: writers, IngestFor: ingest,
		RoundTripFor: roundtrip, RoundTripSockets: rtSockets, Log: say,
		SizeBytes: func() (int64, error) { return env.Backend.Size(ctx, c) }})
	if err != nil {
		return err
	}
	return bench.Print(env.Stdout, res, asJSON)
}

// benchFill sets up a clinic and fills it with synthetic patients, items
// and messages through the clinic's own record code.
func benchFill(ctx context.Context, c config.Config, env Env, patients, items, messages int, say func(string, ...any)) (err error) {
	log := logger(io.Discard)
	n, _, err := createNode(ctx, c, env, log, nil)
	if err != nil {
		return err
	}
	defer closeAfter(&err, n)
	creds := bench.Creds{Email: "owner@bench.test", Password: clinic.RandomToken(), Messages: messages}
	if _, err := n.clinic.Setup(ctx, clinic.SetupInput{ClinicName: "Bench Street Clinic", OwnerName: "Bench Owner", OwnerEmail: creds.Email, Password: creds.Password}, nil, "bench"); err != nil {
		return err
	}
	// Open around the clock, so the after-hours path does not depend on when the bench runs.
	s, err := n.clinic.Settings(ctx)
	if err != nil {
		return err
	}
	h := clinic.DefaultHours()
	for d := range h.Weekly {
		h.Weekly[d] = []clinic.Span{{Open: "00:00", Close: "24:00"}}
	}
	s.Hours = &h
	if err := n.clinic.SaveSettings(ctx, clinic.System, s); err != nil {
		return err
	}
	start := time.Now()
	last := time.Now()
	res, err := n.clinic.BulkLoad(ctx, clinic.BulkSpec{Patients: patients, Items: items, Messages: messages, Seed: 1,
		Progress: func(done, total int) {
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				say("filling: %d of %d records (%.0f%%)", done, total, 100*float64(done)/float64(total))
			}
		}})
	if err != nil {
		return err
	}
	say("filled %d patients, %d items, %d messages in %v", patients, items, messages, time.Since(start).Round(time.Second))
	// Search samples: name prefixes, and real birth dates and phones.
	creds.Samples = []string{"mar", "gar", "lop", "ngu", "pat", "smi", "ort", "zha", "ros", "kha"}
	for i := 0; i < 20 && i < len(res.PatientIDs); i++ {
		if p, err := n.clinic.Patient(ctx, clinic.System, res.PatientIDs[i*len(res.PatientIDs)/20]); err == nil {
			creds.Samples = append(creds.Samples, p.DOB, p.Phone)
		}
	}
	b, _ := json.Marshal(creds)
	return os.WriteFile(bench.CredsPath(c.Data), b, 0o600)
}
