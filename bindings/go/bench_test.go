package psftp_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Throughput of the ways a Go program moves a file, against the test sshd
// (go test -run '^$' -bench . -benchtime 5x; test.sh runs no benchmarks).
// io.Copy goes through File.WriteTo/ReadFrom; the "32KiB" variants hide
// them, which is what io.Copy did before they existed.

const benchSize = 256 << 20

// reportCPU adds the client's CPU time per GiB moved (user+system, all
// threads), which stays comparable when the machine is busy and wall-clock
// throughput is not. Call it with the result of cpuNow at the start.
func reportCPU(b *testing.B, start time.Duration) {
	gib := float64(b.N) * benchSize / (1 << 30)
	b.ReportMetric((cpuNow()-start).Seconds()/gib, "cpu-s/GiB")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchFile(b *testing.B) (remote string) {
	b.Helper()
	dir := remoteScratch(b, "bench")
	remote = filepath.Join(dir, "big")
	putRemote(b, remote, pattern(benchSize, 7))
	b.SetBytes(benchSize)
	return remote
}

func BenchmarkDownloadGetfo(b *testing.B) {
	c, p := dial(b), benchFile(b)
	cpu := cpuNow()
	for b.Loop() {
		if _, err := c.Getfo(context.Background(), p, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func benchDownloadCopy(b *testing.B, hide bool) {
	c, p := dial(b), benchFile(b)
	cpu := cpuNow()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		f, err := c.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		var src io.Reader = f
		if hide {
			src = struct{ io.Reader }{f}
		}
		if _, err := io.Copy(io.Discard, src); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkDownloadIOCopy(b *testing.B)      { benchDownloadCopy(b, false) }
func BenchmarkDownloadIOCopy32KiB(b *testing.B) { benchDownloadCopy(b, true) }

func benchUpload(b *testing.B, how string) {
	c := dial(b)
	dir := remoteScratch(b, "benchup")
	src := filepath.Join(b.TempDir(), "src")
	must(b, os.WriteFile(src, pattern(benchSize, 8), 0o644))
	b.SetBytes(benchSize)
	dst := filepath.Join(dir, "up")
	cpu := cpuNow()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		switch how {
		case "putfo":
			_, err = c.Putfo(context.Background(), in, dst, benchSize, nil)
		default:
			var f interface {
				io.Writer
				Close() error
			}
			f, err = c.Create(dst)
			if err == nil {
				var w io.Writer = f
				if how == "32KiB" {
					w = struct{ io.Writer }{f}
				}
				_, err = io.Copy(w, struct{ io.Reader }{in})
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUploadPutfo(b *testing.B)       { benchUpload(b, "putfo") }
func BenchmarkUploadIOCopy(b *testing.B)      { benchUpload(b, "copy") }
func BenchmarkUploadIOCopy32KiB(b *testing.B) { benchUpload(b, "32KiB") }
