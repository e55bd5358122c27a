// gosftp_bench: the Go pkg/sftp client of psftp's benchmarks, tuned as a
// power user tunes it (bench/README.md, "The clients").
//
//	gosftp_bench OP ARGS... -port P -user U -key FILE -known-hosts FILE
//	             [-cipher NAME] [-requests N] [-packet BYTES] [-workers N]
//
//	OP: get REMOTE LOCAL | put LOCAL REMOTE | get_r REMOTE LOCAL | put_r LOCAL REMOTE
//
// Large files: File.WriteTo / File.ReadFrom with UseConcurrentReads and
// UseConcurrentWrites, -requests requests in flight per file
// (MaxConcurrentRequestsPerFile) of -packet bytes (MaxPacketUnchecked).
// Trees: the directories are made first, then -workers goroutines copy the
// files over the one SFTP session (pkg/sftp multiplexes requests).
// get_r and put_r copy the contents of FROM into TO.
//
// Prints one JSON object: seconds (connect + operation + close),
// op_seconds, files.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

var (
	port       = flag.Int("port", 22, "server port on 127.0.0.1")
	user       = flag.String("user", "", "user")
	keyFile    = flag.String("key", "", "private key file")
	knownHosts = flag.String("known-hosts", "", "known_hosts file")
	cipher     = flag.String("cipher", "", "SSH cipher")
	requests   = flag.Int("requests", 64, "requests in flight per file")
	packet     = flag.Int("packet", 32768, "bytes per read/write request")
	workers    = flag.Int("workers", 64, "files copied at once in trees")
)

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gosftp_bench: "+format+"\n", a...)
	os.Exit(1)
}

func connect() (*ssh.Client, *sftp.Client) {
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		die("key: %v", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		die("key: %v", err)
	}
	hk, err := knownhosts.New(*knownHosts)
	if err != nil {
		die("known hosts: %v", err)
	}
	cfg := &ssh.ClientConfig{User: *user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hk, Timeout: 30 * time.Second}
	if *cipher != "" {
		cfg.Ciphers = []string{*cipher}
	}
	conn, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), cfg)
	if err != nil {
		die("connect: %v", err)
	}
	c, err := sftp.NewClient(conn, sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(*requests), sftp.MaxPacketUnchecked(*packet))
	if err != nil {
		die("sftp: %v", err)
	}
	return conn, c
}

func get(c *sftp.Client, remote, local string) {
	src, err := c.Open(remote)
	if err != nil {
		die("open %s: %v", remote, err)
	}
	defer src.Close()
	dst, err := os.Create(local)
	if err != nil {
		die("create %s: %v", local, err)
	}
	if _, err := src.WriteTo(dst); err != nil {
		die("get %s: %v", remote, err)
	}
	if err := dst.Close(); err != nil {
		die("close %s: %v", local, err)
	}
}

func put(c *sftp.Client, local, remote string) {
	src, err := os.Open(local)
	if err != nil {
		die("open %s: %v", local, err)
	}
	defer src.Close()
	dst, err := c.Create(remote)
	if err != nil {
		die("create %s: %v", remote, err)
	}
	if _, err := dst.ReadFrom(src); err != nil {
		die("put %s: %v", remote, err)
	}
	if err := dst.Close(); err != nil {
		die("close %s: %v", remote, err)
	}
}

// pool runs each job on -workers goroutines.
func pool(jobs []func()) {
	ch := make(chan func())
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				j()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
}

func getR(c *sftp.Client, remote, local string) int {
	base := local
	var jobs []func()
	w := c.Walk(remote)
	for w.Step() {
		if w.Err() != nil {
			die("walk %s: %v", w.Path(), w.Err())
		}
		rel, _ := filepath.Rel(remote, w.Path())
		to := filepath.Join(base, rel)
		if w.Stat().IsDir() {
			if err := os.MkdirAll(to, 0o755); err != nil {
				die("mkdir %s: %v", to, err)
			}
		} else if w.Stat().Mode().IsRegular() {
			from := w.Path()
			jobs = append(jobs, func() { get(c, from, to) })
		}
	}
	pool(jobs)
	return len(jobs)
}

func putR(c *sftp.Client, local, remote string) int {
	var jobs []func()
	err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		to := path.Join(remote, filepath.ToSlash(rel))
		if d.IsDir() {
			if err := c.MkdirAll(to); err != nil {
				return fmt.Errorf("mkdir %s: %w", to, err)
			}
		} else if d.Type().IsRegular() {
			jobs = append(jobs, func() { put(c, p, to) })
		}
		return nil
	})
	if err != nil {
		die("put_r: %v", err)
	}
	pool(jobs)
	return len(jobs)
}

func main() {
	if len(os.Args) < 4 {
		die("usage: gosftp_bench get|put|get_r|put_r FROM TO [flags]")
	}
	op, from, to := os.Args[1], os.Args[2], os.Args[3]
	if err := flag.CommandLine.Parse(os.Args[4:]); err != nil {
		os.Exit(2)
	}
	t0 := time.Now()
	conn, c := connect()
	t1 := time.Now()
	files := 1
	switch op {
	case "get":
		get(c, from, to)
	case "put":
		put(c, from, to)
	case "get_r":
		files = getR(c, from, to)
	case "put_r":
		files = putR(c, from, to)
	default:
		die("unknown op %q", op)
	}
	t2 := time.Now()
	c.Close()
	conn.Close()
	t3 := time.Now()
	out, _ := json.Marshal(map[string]any{"op": op, "seconds": t3.Sub(t0).Seconds(),
		"op_seconds": t2.Sub(t1).Seconds(), "files": files})
	fmt.Println(string(out))
}
