package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// The log of one ulxc command, as LXC's tools keep theirs: every verb
// takes -o/--logfile FILE, -l/--logpriority LEVEL and --debug. The file
// gets the messages of the libraries (e.logger()), ulxc's warnings and a
// last record of the command with its exit status, at LEVEL or above
// (default INFO); --debug shows the debug messages on stderr too.
type commandLog struct {
	file   *os.File
	toFile slog.Handler // nil without --logfile
	log    *slog.Logger
}

// lxcLogLevel maps one of LXC's log priorities onto slog's levels. A
// switch, not a package map, which every ulxc process would build.
func lxcLogLevel(priority string) (slog.Level, bool) {
	switch strings.ToUpper(priority) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug, true
	case "INFO", "NOTICE":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR", "CRIT", "ALERT", "FATAL":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// logLevel maps an LXC log priority onto slog's levels; "" is INFO. The
// priority was checked by openLog.
func logLevel(priority string) slog.Level {
	l, _ := lxcLogLevel(priority)
	return l
}

// openLog opens --logfile once the verb's flags are parsed (its flags may
// come after the verb); a second call, from a verb that runs another, does
// nothing.
func (e *env) openLog() error {
	if e.log.log != nil {
		return nil
	}
	if p := e.logPriority; p != "" {
		if _, ok := lxcLogLevel(p); !ok {
			return usagef("--logpriority %q: want TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT or FATAL", p)
		}
	}
	level := slog.LevelWarn
	if e.debug {
		level = slog.LevelDebug
	}
	handlers := []slog.Handler{slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})}
	if e.logFile != "" {
		f, err := os.OpenFile(e.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("--logfile: %w", err)
		}
		e.log.file = f
		e.log.toFile = slog.NewTextHandler(f, &slog.HandlerOptions{Level: logLevel(e.logPriority)})
		handlers = append(handlers, e.log.toFile)
	}
	e.log.log = slog.New(slog.NewMultiHandler(handlers...))
	return nil
}

// logger returns the command's logger: debug messages on stderr with
// --debug (warnings without), and to --logfile at --logpriority.
func (e *env) logger() *slog.Logger {
	if e.log.log == nil && e.openLog() != nil {
		// Called before parse reported the bad --logfile or
		// --logpriority: stderr only.
		e.log.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return e.log.log
}

// logFileOnly writes a record to --logfile alone: what stderr has already
// shown in ulxc's own words (warnings, the error).
func (e *env) logFileOnly(level slog.Level, msg string, args ...any) {
	if e.log.toFile == nil {
		return
	}
	slog.New(e.log.toFile).Log(context.Background(), level, msg, args...)
}

// logCommand records the end of the command: in --logfile, and on stderr
// with --debug.
func (e *env) logCommand(args []string, code int, err error) {
	if e.log.toFile == nil && !e.debug || errors.Is(err, pflag.ErrHelp) {
		return
	}
	attrs := []any{"command", "ulxc " + strings.Join(args, " "), "status", code}
	var ee *exitError
	level := slog.LevelInfo
	if err != nil && !errors.As(err, &ee) {
		level, attrs = slog.LevelError, append(attrs, "err", err.Error())
	}
	e.logFileOnly(level, "done", attrs...)
	if e.debug {
		slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("done", attrs...)
	}
}

// closeLog closes --logfile.
func (e *env) closeLog() {
	if e.log.file != nil {
		e.log.file.Close()
	}
}
