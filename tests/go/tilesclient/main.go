// Command tilesclient verifies a govgate audit log directory as a C2SP tlog-tiles log, with two
// clients that know nothing of govgate. First golang.org/x/mod/sumdb/note and sumdb/tlog: the
// checkpoint's signature by the log's verifier key, every hash tile against the checkpoint's
// root, and every leaf of every entry bundle by an inclusion proof in that tree. Then torchwood's
// tiles client (filippo.io/torchwood), over HTTP from the directory served on 127.0.0.1: the
// checkpoint fetched and verified, every entry read and authenticated by its Client.Entries.
//
// Usage: tilesclient [-vkey FILE] [-client xmod|torchwood|both] DIR    (or tilesclient -source)
//
// Exit 0 when the log verifies, 1 with one line saying what does not, 2 on usage errors.
package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8
const maxFile = 256 * (2 + 65535)

// source is the digest of this program's source files, set by the build (-ldflags -X) so that a
// build in a cache can be told apart from a stale one.
var source = "unknown"

func main() {
	vkeyFile := flag.String("vkey", "", "the log's verifier key file (default DIR/log.pub)")
	printSource := flag.Bool("source", false, "print the digest of the source this was built from")
	which := flag.String("client", "both", "the clients to verify with: xmod, torchwood or both")
	flag.Parse()
	if *printSource {
		fmt.Println(source)
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tilesclient [-vkey FILE] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if *vkeyFile == "" {
		*vkeyFile = filepath.Join(dir, "log.pub")
	}
	if *which != "xmod" && *which != "torchwood" && *which != "both" {
		fmt.Fprintln(os.Stderr, "tilesclient: -client is xmod, torchwood or both")
		os.Exit(2)
	}
	n := int64(-1)
	if *which != "torchwood" {
		var err error
		if n, err = run(dir, *vkeyFile); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
	}
	if *which != "xmod" {
		m, err := runTorchwood(dir, *vkeyFile)
		if err != nil {
			fmt.Println("FAIL: torchwood:", err)
			os.Exit(1)
		}
		if n >= 0 && m != n {
			fmt.Printf("FAIL: torchwood read %d entries, x/mod %d\n", m, n)
			os.Exit(1)
		}
		n = m
	}
	fmt.Printf("OK: %d leaves\n", n)
}

// readFile reads a regular file of the log, never following a link, within a bound.
func readFile(path string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: too large", path)
	}
	return data, nil
}

func loadVerifier(vkeyFile string) (note.Verifier, error) {
	vkey, err := readFile(vkeyFile)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", vkeyFile, err)
	}
	return verifier, nil
}

// runTorchwood reads every entry with torchwood's tiles client, from the directory served over
// HTTP on a loopback port for as long as it runs.
func runTorchwood(dir, vkeyFile string) (int64, error) {
	verifier, err := loadVerifier(vkeyFile)
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fetcher, err := torchwood.NewTileFetcher("http://" + ln.Addr().String() + "/")
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	text, err := fetcher.ReadEndpoint(ctx, "checkpoint")
	if err != nil {
		return 0, err
	}
	signed, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	cp, err := torchwood.ParseCheckpoint(signed.Text)
	if err != nil || cp.Origin != verifier.Name() {
		return 0, fmt.Errorf("checkpoint: not a checkpoint of %s", verifier.Name())
	}
	client, err := torchwood.NewClient(fetcher)
	if err != nil {
		return 0, err
	}
	next := int64(0)
	for next < cp.N {
		start := next
		for i := range client.Entries(ctx, cp.Tree, next) {
			if i != next {
				return 0, fmt.Errorf("entry %d where %d was next", i, next)
			}
			next++
		}
		if err := client.Err(); err != nil {
			return 0, err
		}
		if next == start {
			return 0, fmt.Errorf("no entries from %d on", next)
		}
	}
	return cp.N, nil
}

func run(dir, vkeyFile string) (int64, error) {
	verifier, err := loadVerifier(vkeyFile)
	if err != nil {
		return 0, err
	}
	text, err := readFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return 0, err
	}
	signed, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	tree, err := parseCheckpoint(signed.Text, verifier.Name())
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	reader := tlog.TileHashReader(tree, &dirTiles{dir: dir})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		return 0, fmt.Errorf("hash tiles: %v", err)
	}
	if root != tree.Hash {
		return 0, errors.New("the hash tiles do not hash to the checkpoint's root")
	}
	for start := int64(0); start < tree.N; start += 1 << height {
		width := min(tree.N-start, 1<<height)
		leaves, err := readBundle(dir, start>>height, int(width))
		if err != nil {
			return 0, err
		}
		for i, leaf := range leaves {
			index := start + int64(i)
			proof, err := tlog.ProveRecord(tree.N, index, reader)
			if err != nil {
				return 0, fmt.Errorf("leaf %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(leaf)); err != nil {
				return 0, fmt.Errorf("leaf %d: its entry bundle's data is not in the tree: %v", index, err)
			}
		}
	}
	return tree.N, nil
}

// parseCheckpoint reads a C2SP tlog-checkpoint body: origin, tree size, base64 root hash.
func parseCheckpoint(text, origin string) (tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("not a checkpoint of %s", origin)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return tlog.Tree{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	var hash tlog.Hash
	copy(hash[:], h)
	return tlog.Tree{N: n, Hash: hash}, nil
}

// tilePath is the C2SP tlog-tiles path of a tile: x/mod's tile path without its height element.
func tilePath(t tlog.Tile) string {
	return strings.Replace(t.Path(), fmt.Sprintf("tile/%d/", height), "tile/", 1)
}

func readBundle(dir string, n int64, width int) ([][]byte, error) {
	path := tilePath(tlog.Tile{H: height, L: 0, N: n, W: width})
	path = "tile/entries/" + strings.TrimPrefix(path, "tile/0/")
	data, err := readFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	var leaves [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("%s: truncated entry length", path)
		}
		size := int(binary.BigEndian.Uint16(data))
		if len(data)-2 < size {
			return nil, fmt.Errorf("%s: truncated entry", path)
		}
		leaves = append(leaves, data[2:2+size])
		data = data[2+size:]
	}
	if len(leaves) != width {
		return nil, fmt.Errorf("%s: %d entries, not %d", path, len(leaves), width)
	}
	return leaves, nil
}

// dirTiles serves hash tiles from the log directory.
type dirTiles struct{ dir string }

func (d *dirTiles) Height() int { return height }

func (d *dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := readFile(filepath.Join(d.dir, filepath.FromSlash(tilePath(t))))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, not %d", tilePath(t), len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (d *dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}
