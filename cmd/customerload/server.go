package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// server is a server process this command started.
type server struct {
	url string
	cmd *exec.Cmd
	log *os.File
}

// startServer runs name with args, logging to logPath, and waits for it to
// say where it listens. It only accepts a loopback address.
func startServer(ctx context.Context, logPath, name string, args ...string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = logFile
	// exec copies all of stderr into the writer before Wait returns, so
	// the log is complete once the process has stopped.
	cmd.Stderr = &addressSniffer{w: logFile, found: found}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	select {
	case url := <-found:
		return &server{url: url, cmd: cmd, log: logFile}, nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		return nil, fmt.Errorf("%s did not start; see %s", name, logPath)
	}
}

// addressSniffer passes output on to w and sends the first listening
// address it sees to found.
type addressSniffer struct {
	w     io.Writer
	found chan string
	buf   []byte
	sent  bool
}

func (a *addressSniffer) Write(p []byte) (int, error) {
	if !a.sent {
		a.buf = append(a.buf, p...)
		if m := listeningRE.FindSubmatch(a.buf); m != nil {
			a.found <- string(m[1])
			a.sent, a.buf = true, nil
		}
	}
	return a.w.Write(p)
}

// peakRSS returns the most resident memory the process has used, and
// currentRSS what it uses now, from /proc (Linux), in bytes.
func (s *server) peakRSS() (int64, error)    { return s.procStatus("VmHWM:") }
func (s *server) currentRSS() (int64, error) { return s.procStatus("VmRSS:") }

func (s *server) procStatus(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
}

// cpuTime returns the CPU time, user and system, the process has used so
// far, from /proc (Linux, whose clock ticks there are 1/100 s).
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields from
	// after it. utime and stime are the 14th and 15th fields.
	i := strings.LastIndexByte(string(b), ')')
	fields := strings.Fields(string(b[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", s.cmd.Process.Pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop() error {
	defer s.log.Close()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		return fmt.Errorf("server did not stop within a minute of SIGTERM")
	}
}
