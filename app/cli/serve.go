package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/group"
	"hearth/app/mail"
	"hearth/app/realtime"
	"hearth/app/store"
	"hearth/app/tlsauto"
	"hearth/app/web"
)

func serve(ctx context.Context, args []string, env Env) (err error) {
	c, err := parse("serve", args, config.Flags{Addr: true, TLS: true, Store: true, Network: true, ACME: true}, env)
	if err != nil {
		return err
	}
	log := logger(env.Stderr)
	if path := env.Getenv("HEARTH_CPUPROFILE"); path != "" {
		// For diagnosing speed (docs/PERFORMANCE.md): a CPU profile written
		// to a local file until the server stops. Never served over HTTP.
		if f, err := startCPUProfile(path); err != nil {
			log.Warn("cannot write a CPU profile", "err", err)
		} else {
			defer func() {
				pprof.StopCPUProfile()
				if err := f.Close(); err != nil {
					log.Warn("the CPU profile is incomplete", "err", err)
				}
			}()
		}
	}
	if env.Getenv("GOMEMLIMIT") == "" {
		// Opening a record leaves ~100 KB of garbage; a soft limit keeps the
		// heap collected well before an old office PC feels it.
		debug.SetMemoryLimit(200 << 20)
	}
	if env.Getenv("GOGC") == "" {
		// Collecting when the heap has grown by half (not doubled) keeps
		// ~13 MB off the resident figure with 500 staff sockets open, for
		// no measurable loss of ingest (docs/PERFORMANCE.md).
		debug.SetGCPercent(50)
	}
	hub := realtime.NewHub(log)
	// On a single node the clinic tells the hub directly; in a clinic
	// group it tells every node through the shared store (app/group).
	var events clinic.Publisher = hub
	var grp *group.Node
	if env.Backend.Kind(c) == "postgres" {
		grp = group.New(log, hub)
		events = grp
	}
	var n *node
	var recovery string
	if env.Backend.Exists(c) {
		n, err = openNode(ctx, c, env, time.Second, log, events)
	} else {
		log.Info("first run: creating keys and database", "data", c.Data)
		n, recovery, err = createNode(ctx, c, env, log, events)
	}
	if err != nil {
		return err
	}
	defer closeAfter(&err, n)
	cl := n.clinic
	hub.SetSource(cl)
	hub.SetQueueOf(cl.ItemQueue)
	var counters web.Counters
	var cluster store.Cluster
	if grp != nil {
		cs, ok := n.store.(store.Cluster)
		if !ok {
			return errors.New("this store cannot be shared by several nodes")
		}
		grp.Join(cs, cl)
		cluster, counters = cs, cs
		hub.SetRelay(grp.SharePresence)
	}

	var setupState *web.SetupState
	setUp, err := cl.IsSetUp(ctx)
	if err != nil {
		return err
	}
	if !setUp {
		if recovery == "" {
			// Restarted before anyone finished setup: the recovery key shown
			// earlier was never confirmed, so make a fresh one to show now.
			if recovery, err = n.vault.RotateRecovery(); err != nil {
				return err
			}
		}
		setupState = &web.SetupState{Token: randomToken(), Recovery: recovery, Done: func() { removeSetupLinkOrWarn(c, log) }}
	}

	// Hearth's own HTTPS: the certificate comes from an ACME CA (https.go).
	domain, err := httpsDomain(ctx, &c, cl, log)
	if err != nil {
		return err
	}
	var auto *tlsauto.Manager
	var plainLn net.Listener
	var certStatus func() any
	if domain != "" {
		if auto, plainLn, err = newAutoTLS(c, domain, cl, grp != nil, log); err != nil {
			return err
		}
		defer auto.Close()
		if plainLn != nil {
			// On an early return nothing serves it; afterwards the HTTP
			// server has closed it already, and the second close says so.
			defer func() { _ = plainLn.Close() }()
		}
		certStatus = func() any { return auto.Status() }
	}

	texts := newTextLine(cl, log)
	texts.Refresh(ctx)
	defer func() {
		if cerr := texts.Close(); cerr != nil {
			log.Warn("closing the text transport", "err", cerr)
		}
	}()
	srv, err := web.New(web.Options{
		Texts:    texts,
		Clinic:   cl,
		Hub:      hub,
		Files:    env.Files,
		Log:      log,
		Version:  Version,
		TLS:      c.TLS() || auto != nil,
		Addr:     c.Addr,
		Setup:    setupState,
		DataDir:  c.Data,
		Counters: counters,

		TrustedProxies: c.TrustedProxies,
		StaffFrom:      c.StaffFrom,
		Domain:         domain,
		CertStatus:     certStatus,
	})
	if err != nil {
		return err
	}
	handler := srv.Handler()
	if auto != nil {
		handler = notReadyGate(auto, cl, handler)
	}
	hs := web.NewHTTPServer(handler, web.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	tcp, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", c.Addr, err)
	}
	// The per-address connection cap counts TCP peers, before TLS: a
	// trusted proxy, or anything on this machine, is one peer for many
	// clients and is not capped.
	var ln net.Listener = web.LimitConnsPerIP(tcp, web.MaxConnsPerIP, web.CapExempt(c.TrustedProxies))
	scheme := "http"
	if c.TLS() {
		cert, err := newCertReloader(c.TLSCert, c.TLSKey)
		if err != nil {
			return errors.Join(err, ln.Close())
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.get, CipherSuites: web.CipherSuites()}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	} else if auto != nil {
		hs.TLSConfig = auto.TLSConfig()
		hs.TLSConfig.CipherSuites = web.CipherSuites()
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
		if plainLn != nil {
			defer closeAfter(&err, serveACMEHTTP(c, plainLn, auto, log))
		}
	} else {
		log.Warn("serving plain HTTP: fine on the office network, but patients must only ever reach Hearth over HTTPS (give --tls-cert and --tls-key, or put it behind an HTTPS proxy)")
	}

	ctl, err := serveControl(c, cl, env, log)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	defer closeAfter(&err, ctl)

	base := scheme + "://" + displayAddr(ln.Addr().String())
	if auto != nil {
		base = httpsBase(domain, c.Addr)
	}
	log.Info("hearth is serving", "url", base, "data", c.Data, "version", Version)
	if note := testBuild(); note != "" {
		log.Warn(note)
	}
	if setupState != nil {
		link := base + "/setup/" + setupState.Token
		if err := os.WriteFile(c.SetupLinkPath(), []byte(link+"\n"), 0o600); err != nil {
			log.Warn("could not write the setup link to its file; it is printed on standard output only", "err", err)
		}
		if _, err := fmt.Fprintf(env.Stdout, "\nHearth is running. To finish setting up, open this one-time link in a browser:\n\n    %s\n\n", link); err != nil {
			log.Warn("could not print the setup link; it is in its file only", "path", c.SetupLinkPath(), "err", err)
		}
	}

	jobs, stopJobs := context.WithCancel(ctx)
	if auto != nil {
		auto.Start(jobs)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); hub.Run(jobs) }()
	if grp == nil {
		go func() { defer wg.Done(); periodicJobs(jobs, cl, env, log, c, texts) }()
	} else {
		wg.Add(1)
		go func() { defer wg.Done(); grp.Run(jobs) }()
		// The clinic's periodic jobs run on exactly one node of the group:
		// the one holding the store's leadership. When it dies, another
		// takes over within seconds.
		go func() {
			defer wg.Done()
			err := cluster.Lead(jobs, "periodic_jobs", func(ctx context.Context) {
				log.Info("this node now runs the clinic's periodic jobs (overdue alerts, reminders, email, backups)")
				periodicJobs(ctx, cl, env, log, c, texts)
				log.Info("this node no longer runs the periodic jobs")
			})
			if err != nil {
				log.Error("CANNOT RUN THE PERIODIC JOBS: no overdue alerts, reminders or email from this node", "err", err)
			}
		}()
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	// The file's structure is checked in the background right after
	// start, so a large database does not delay it. On damage the clinic
	// turns degraded: staff screens close with a page saying how to
	// restore, patient pages give the clinic's phone number.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := cl.CheckStore(jobs); err == nil {
			log.Info("database structure checked: sound")
		} else if !errors.Is(err, store.ErrCorrupt) && jobs.Err() == nil {
			log.Error("the database structure check could not run", "err", err)
		}
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		hub.CloseAll()
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopJobs()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	removeSetupLinkOrWarn(c, log)
	log.Info("stopped")
	return err
}

// removeSetupLinkOrWarn removes the setup link's file (setup is done, or
// the server stops and will make a fresh one); a failure is only logged,
// since the link it holds no longer works.
func removeSetupLinkOrWarn(c config.Config, log *slog.Logger) {
	if err := removeSetupLink(c); err != nil {
		log.Warn("the setup link file stays behind", "err", err)
	}
}

// startCPUProfile starts a CPU profile written to path.
func startCPUProfile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return f, nil
}

func displayAddr(a string) string {
	host, port, _ := net.SplitHostPort(a)
	if host == "" || host == "0.0.0.0" || host == "::" {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

func randomToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// serveControl listens on the data folder's Unix socket for local
// administration (hot backups). The socket is mode 0600 inside a 0700
// folder: only the service's own user (or root) can reach it.
func serveControl(c config.Config, cl *clinic.Clinic, env Env, log *slog.Logger) (*http.Server, error) {
	path := c.ControlPath()
	// A socket left by a server that did not stop cleanly.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("control socket %s: %w", path, err), ln.Close())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Hearth-Backup, "+clinic.AnchorTrailer)
		w.Header().Set("Content-Type", "application/octet-stream")
		a, err := cl.BackupAnchored(r.Context(), w, Version, env.Backend.Kind(c))
		if err != nil {
			log.Error("backup through the control socket failed", "err", err)
			if errors.Is(err, clinic.ErrLocked) {
				http.Error(w, "Hearth is locked; unlock it first", http.StatusServiceUnavailable)
			}
			return
		}
		w.Header().Set(clinic.AnchorTrailer, a.Trailer())
		w.Header().Set("Hearth-Backup", "complete")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("the control socket stopped: hot backups through it fail until the server restarts", "err", err)
		}
	}()
	return hs, nil
}

// periodicJobs runs the clinic's timed work until ctx ends: the overdue
// ticker, reminders and the closing sweep; the outbox (email, and texts
// through the text line, which follows the settings); nightly backups. It
// first settles mail and texts that a crash (or a departed leader) left
// half-sent.
func periodicJobs(ctx context.Context, cl *clinic.Clinic, env Env, log *slog.Logger, c config.Config, texts *textLine) {
	if err := cl.RecoverMail(ctx); err != nil && ctx.Err() == nil {
		log.Error("checking the outbox failed", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(4)
	go func() {
		// notices a crash left half made are finished at once, not at the next minute
		defer wg.Done()
		if err := cl.ResumeNotices(ctx); err != nil && ctx.Err() == nil {
			log.Error("finishing notices failed; the next minute tries again", "err", err)
		}
	}()
	go func() { defer wg.Done(); runBackups(ctx, cl, env, log, c) }()
	go func() { defer wg.Done(); every(ctx, minuteTick(), log, "periodic work", cl.EveryMinute) }()
	go func() {
		defer wg.Done()
		every(ctx, outboxTick, log, "sending email and texts", func(ctx context.Context) error {
			texts.Refresh(ctx)
			_, err := cl.SendDue(ctx, clinic.Outlets{Mail: mail.Send, Text: texts})
			return err
		})
	}()
	wg.Wait()
}

// every runs job each period until ctx ends; a failure is logged, and the
// next tick tries again.
func every(ctx context.Context, period time.Duration, log *slog.Logger, what string, job func(context.Context) error) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				log.Error(what+" failed", "err", err)
			}
		}
	}
}

// runBackups writes the nightly backup into the folder the owner set, once a
// day at the set hour (clinic time), and records how it went.
func runBackups(ctx context.Context, cl *clinic.Clinic, env Env, log *slog.Logger, c config.Config) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := cl.Settings(ctx)
		if err != nil || s.BackupDir == "" {
			continue
		}
		now := env.Now().In(s.Location())
		lastOK, err := cl.Meta(ctx, clinic.MetaBackupOK)
		if err != nil {
			// A store that cannot answer this cannot make a backup either;
			// say so, and look again at the next tick.
			log.Error("the time of the last scheduled backup could not be read", "err", err)
			continue
		}
		lastErr, err := cl.Meta(ctx, clinic.MetaBackupError)
		if err != nil {
			log.Error("the last scheduled backup's error could not be read", "err", err)
			continue
		}
		// Once a day in the owner's hour; after a failure, every ten
		// minutes until one works.
		if !clinic.BackupDue(now, s.BackupHour, lastOK, lastErr) {
			continue
		}
		if err := cl.RunScheduledBackup(ctx, filepath.Clean(s.BackupDir), s.BackupKeep, Version, env.Backend.Kind(c)); err != nil {
			log.Error("SCHEDULED BACKUP FAILED: check the backup folder (is the drive plugged in, writable, with room?); it is tried again every 10 minutes", "folder", s.BackupDir, "err", err)
		} else {
			log.Info("scheduled backup written", "folder", s.BackupDir)
		}
	}
}

// certReloader serves the certificate files and re-reads them when they
// change, so a renewed certificate takes effect without a restart.
type certReloader struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	mod               time.Time
	checked           time.Time
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) modTime() time.Time {
	var m time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(m) {
			m = st.ModTime()
		}
	}
	return m
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	r.cert, r.mod = &cert, r.modTime()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) > time.Second {
		r.checked = time.Now()
		if m := r.modTime(); m.After(r.mod) {
			if err := r.load(); err != nil {
				// Keep serving the old certificate until the new pair is whole.
				r.mod = m
			}
		}
	}
	return r.cert, nil
}
