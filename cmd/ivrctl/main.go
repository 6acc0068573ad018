// Command ivrctl is the administrator's tool for the help-desk IVR:
// validate a configuration, ask the hours, review the menu, hash PINs,
// simulate calls and measure load.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	_ "time/tzdata" // the service time zone must load even on a bare image
)

type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	run     func(e env, args []string) int
}

var commands = map[string]command{}

func register(name, summary string, run func(e env, args []string) int) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches a command. A bug must never show a caller's data or a
// stack trace to the administrator, so panics become one clear line.
func run(e env, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "ivrctl: internal error: %v (please report it)\n", r)
			code = 2
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	// "pin hash" reads better than "pin-hash"; accept both.
	if name == "pin" && len(rest) > 0 {
		name, rest = "pin "+rest[0], rest[1:]
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "ivrctl: unknown command %q\n", name)
		usage(e.stderr)
		return 2
	}
	return c.run(e, rest)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ivrctl COMMAND [flags]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "Run 'ivrctl COMMAND -h' for a command's flags.")
}

func fail(e env, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(e.stderr, "ivrctl: "+strings.TrimSpace(msg))
	return 1
}
