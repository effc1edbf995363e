// Command proofcheck checks a govgate proof of inclusion (a C2SP tlog-proof file, as `gate audit
// prove` writes it) with the ecosystem's own libraries, not govgate's: the checkpoint's signature
// with golang.org/x/mod/sumdb/note, and the inclusion of the entry with
// github.com/transparency-dev/merkle's proof.VerifyInclusion over RFC 6962 hashing.
//
//	proofcheck -log-key log.pub [-record RECORD_FILE] PROOF
//
// The proof's extra data is the entry's Merkle leaf (RFC 8785 JSON of id, index, input and record);
// its RFC 6962 leaf hash is what the inclusion proof proves. With -record, the file's SHA-256 must
// be the record digest the leaf names. Exit 0 when the proof verifies, 1 when it does not, 2 on a
// usage error or a proof file that is not a tlog-proof.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const header = "c2sp.org/tlog-proof@v1"

type parsed struct {
	extra      []byte
	index      uint64
	hashes     [][]byte
	checkpoint []byte
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "proofcheck: "+format+"\n", args...)
	os.Exit(code)
}

func parse(data []byte) (*parsed, error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 3 || lines[0] != header {
		return nil, fmt.Errorf("does not start with %q", header)
	}
	p := &parsed{}
	i := 1
	if rest, ok := strings.CutPrefix(lines[i], "extra "); ok {
		extra, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("extra data is not base64: %v", err)
		}
		p.extra = extra
		i++
	}
	rest, ok := strings.CutPrefix(lines[i], "index ")
	if !ok {
		return nil, fmt.Errorf("line %d is not the index line", i+1)
	}
	index, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || strconv.FormatUint(index, 10) != rest {
		return nil, fmt.Errorf("index %q is not a decimal without leading zeros", rest)
	}
	p.index = index
	for i++; i < len(lines) && lines[i] != ""; i++ {
		h, err := base64.StdEncoding.DecodeString(lines[i])
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("line %d is not a base64 SHA-256 hash", i+1)
		}
		p.hashes = append(p.hashes, h)
	}
	if i >= len(lines) {
		return nil, fmt.Errorf("no empty line before the checkpoint")
	}
	p.checkpoint = []byte(strings.Join(lines[i+1:], "\n"))
	return p, nil
}

// checkpoint returns the size and root hash of a checkpoint's note text (origin, size, root).
func checkpoint(text, origin string) (uint64, []byte, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		return 0, nil, fmt.Errorf("checkpoint has fewer than three lines")
	}
	if lines[0] != origin {
		return 0, nil, fmt.Errorf("checkpoint of log %q, not %q", lines[0], origin)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("checkpoint size %q is not a number", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return 0, nil, fmt.Errorf("checkpoint root is not a base64 SHA-256 hash")
	}
	return size, root, nil
}

type leaf struct {
	ID     string  `json:"id"`
	Index  uint64  `json:"index"`
	Input  *string `json:"input"`
	Record string  `json:"record"`
}

func main() {
	logKey := flag.String("log-key", "", "the log's verifier key file (log.pub)")
	record := flag.String("record", "", "a record bundle file whose digest the leaf must name")
	flag.Parse()
	if *logKey == "" || flag.NArg() != 1 {
		fail(2, "usage: proofcheck -log-key log.pub [-record RECORD_FILE] PROOF")
	}
	vkey, err := os.ReadFile(*logKey)
	if err != nil {
		fail(2, "%v", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fail(2, "%s: not a note verifier key: %v", *logKey, err)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail(2, "%v", err)
	}
	p, err := parse(data)
	if err != nil {
		fail(2, "%s: not a tlog-proof: %v", flag.Arg(0), err)
	}
	n, err := note.Open(p.checkpoint, note.VerifierList(verifier))
	if err != nil {
		fail(1, "%s: checkpoint does not verify with the log key: %v", flag.Arg(0), err)
	}
	size, root, err := checkpoint(n.Text, verifier.Name())
	if err != nil {
		fail(1, "%s: %v", flag.Arg(0), err)
	}
	if p.extra == nil {
		fail(1, "%s: no extra data: the entry's leaf is needed to know what is proved", flag.Arg(0))
	}
	var l leaf
	dec := json.NewDecoder(bytes.NewReader(p.extra))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		fail(1, "%s: the extra data is not a govgate leaf: %v", flag.Arg(0), err)
	}
	if l.Index != p.index {
		fail(1, "%s: the leaf is entry %d, the proof is for index %d", flag.Arg(0), l.Index, p.index)
	}
	hasher := rfc6962.DefaultHasher
	if err := proof.VerifyInclusion(hasher, p.index, size, hasher.HashLeaf(p.extra), p.hashes, root); err != nil {
		fail(1, "%s: inclusion proof does not verify: %v", flag.Arg(0), err)
	}
	if *record != "" {
		bundle, err := os.ReadFile(*record)
		if err != nil {
			fail(2, "%v", err)
		}
		sum := sha256.Sum256(bundle)
		if "sha256:"+hex.EncodeToString(sum[:]) != l.Record {
			fail(1, "%s: its digest is not the record digest %s the leaf names", *record, l.Record)
		}
	}
	fmt.Printf("OK index %d size %d record %s\n", p.index, size, l.Record)
}
