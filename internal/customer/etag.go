package customer

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
)

// Etag derives the opaque etag of a stored customer from its id and
// revision. Every storage engine uses it, so that a customer has the same
// etag whichever engine serves it. The revision changes on every update and
// ids are never reused, so no two versions of customers share a tag.
func Etag(id, revision int64) string {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(id))
	binary.BigEndian.PutUint64(b[8:], uint64(revision))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
}
