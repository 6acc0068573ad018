package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/term"

	"github.com/helpdesk-ivr/ivr/panel"
)

func init() {
	register("user", "manage the web panel's users: add, passwd, list, disable, enable (DATABASE_URL)", cmdUser)
}

// cmdUser manages panel users. Passwords are read from the terminal
// without echo, or from the first line of stdin when it is not a terminal
// (a script); never from a flag, which would leave them in the shell's
// history and in ps.
func cmdUser(e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: ivrctl user add|passwd|list|disable|enable [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(e, "user "+sub)
	login := fs.String("login", "", "the user's login (an operator's is their queue login)")
	name := fs.String("name", "", "full name (add)")
	role := fs.String("role", "", "operator, supervisor or admin (add)")
	lang := fs.String("lang", "it", "the panel's language for the user: it or en (add)")
	if fs.Parse(args) != nil {
		return 2
	}
	if sub != "list" && *login == "" {
		return fail(e, "-login is required")
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fail(e, "DATABASE_URL is required")
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fail(e, "database: %v", err)
	}
	defer pool.Close()
	// The first administrator may be created before ivrd ever ran.
	if err := panel.Migrate(ctx, pool); err != nil {
		return fail(e, "database migrations: %v", err)
	}
	users := panel.NewUsers(pool)
	switch sub {
	case "add":
		pw, err := readPassword(e, true)
		if err == nil {
			err = users.Add(ctx, *login, *name, panel.Role(*role), pw, *lang)
		}
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "user %s added (%s)\n", panel.NormalizeLogin(*login), *role)
	case "passwd":
		pw, err := readPassword(e, true)
		if err == nil {
			err = users.SetPassword(ctx, *login, pw)
		}
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "password of %s changed; their sessions are closed\n", panel.NormalizeLogin(*login))
	case "disable", "enable":
		if err := users.SetDisabled(ctx, *login, sub == "disable"); err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "user %s %sd\n", panel.NormalizeLogin(*login), sub)
	case "list":
		list, err := users.List(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tNAME\tROLE\tLANG\tSTATE")
		for _, u := range list {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Login, u.Name, u.Role, u.Lang, state)
		}
		_ = tw.Flush()
	default:
		return fail(e, "unknown user command %q (add, passwd, list, disable, enable)", sub)
	}
	return 0
}

// readPassword reads a password: twice without echo from a terminal, or
// the first line of a non-terminal stdin.
func readPassword(e env, confirm bool) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if confirm {
			fmt.Fprint(e.stderr, "Again: ")
			again, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return "", err
			}
			if string(again) != string(pw) {
				return "", errors.New("the two passwords differ")
			}
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin")
	}
	return line, nil
}
