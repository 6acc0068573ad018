// Command pgcluster starts a private PostgreSQL cluster for the test suite
// or a local demo.
//
//	pgcluster [flags] -- command [args...]
//	    starts a cluster, runs command with TEST_DATABASE_URL (and
//	    DATABASE_URL) set to it, stops the cluster and exits with the
//	    command's status. This is what scripts/test.sh uses:
//	    go run ./internal/pgcluster/cmd/pgcluster -test-tuning -- go test -race ./...
//
//	pgcluster [flags]
//	    starts a cluster, prints its URL (and writes it to -url-file), and
//	    runs until SIGINT or SIGTERM, then stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/helpdesk-ivr/ivr/internal/pgcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		opts    pgcluster.Options
		urlFile string
		verbose bool
		sets    settingsFlag
	)
	flag.StringVar(&opts.Dir, "dir", "", "cluster directory (default: a temporary one)")
	flag.IntVar(&opts.Port, "port", 0, "TCP port on 127.0.0.1 (default: a free one)")
	flag.BoolVar(&opts.Keep, "keep", false, "keep the cluster directory on exit")
	flag.BoolVar(&opts.TestTuning, "test-tuning", false, "fsync, synchronous_commit and full_page_writes off (tests only)")
	flag.StringVar(&opts.BinDir, "bin", "", "PostgreSQL bin directory (default: newest /usr/lib/postgresql/*/bin)")
	flag.Var(&sets, "set", "extra postgresql.conf setting name=value (repeatable)")
	flag.StringVar(&urlFile, "url-file", "", "write the connection URL to this file once the server is ready")
	flag.BoolVar(&verbose, "v", false, "log progress to stderr")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: pgcluster [flags] [-- command args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	opts.Settings = sets.m
	if verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c, err := pgcluster.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(c.URL()+"\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}

	if args := flag.Args(); len(args) > 0 {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+c.URL(), "DATABASE_URL="+c.URL())
		if err := cmd.Run(); err != nil {
			if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() > 0 {
				return ee.ExitCode()
			}
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}

	fmt.Println(c.URL())
	<-ctx.Done()
	return 0
}

type settingsFlag struct{ m map[string]string }

func (s *settingsFlag) String() string { return "" }

func (s *settingsFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}
