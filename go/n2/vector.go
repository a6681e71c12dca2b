package n2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgtype"
)

// Vector is a []float32 that pgx can send to and read from PostgreSQL's
// n2 `vector` type.
//
// As a query parameter it is sent in the type's binary format
// (int16 dimension, int16 zero, then the float4 values, all big-endian), so
// values reach the server bit for bit without a decimal round trip. It can
// also be scanned from a `vector` column in text ('[1,2,3]') or binary form.
type Vector []float32

// maxDim is the largest dimension the binary format can carry (int16).
const maxDim = math.MaxInt16

// EncodeBinary implements pgtype.BinaryEncoder.
func (v Vector) EncodeBinary(_ *pgtype.ConnInfo, buf []byte) ([]byte, error) {
	if v == nil {
		return nil, nil // SQL NULL
	}
	if len(v) > maxDim {
		return nil, fmt.Errorf("n2: vector has %d dimensions, more than the %d the vector type can hold", len(v), maxDim)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint16(hdr[0:2], uint16(len(v)))
	// hdr[2:4] stays zero (reserved)
	buf = append(buf, hdr[:]...)
	var f [4]byte
	for _, x := range v {
		binary.BigEndian.PutUint32(f[:], math.Float32bits(x))
		buf = append(buf, f[:]...)
	}
	return buf, nil
}

// DecodeBinary implements pgtype.BinaryDecoder.
func (v *Vector) DecodeBinary(_ *pgtype.ConnInfo, src []byte) error {
	if src == nil {
		*v = nil
		return nil
	}
	if len(src) < 4 {
		return errors.New("n2: binary vector too short")
	}
	dim := int(int16(binary.BigEndian.Uint16(src[0:2])))
	if dim < 0 || len(src) != 4+4*dim {
		return fmt.Errorf("n2: binary vector of %d bytes does not hold %d dimensions", len(src), dim)
	}
	out := make(Vector, dim)
	for i := range out {
		out[i] = math.Float32frombits(binary.BigEndian.Uint32(src[4+4*i:]))
	}
	*v = out
	return nil
}

// DecodeText implements pgtype.TextDecoder for the text form '[1,2,3]'.
func (v *Vector) DecodeText(_ *pgtype.ConnInfo, src []byte) error {
	if src == nil {
		*v = nil
		return nil
	}
	parsed, err := ParseVector(string(src))
	if err != nil {
		return err
	}
	*v = parsed
	return nil
}

// ParseVector parses the vector text form "[1,2,3]".
func ParseVector(s string) (Vector, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("n2: malformed vector literal %q", s)
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" {
		return Vector{}, nil
	}
	parts := strings.Split(body, ",")
	out := make(Vector, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("n2: malformed vector literal %q: %v", s, err)
		}
		out[i] = float32(f)
	}
	return out, nil
}

// String returns the vector's text form, e.g. "[1,2.5,3]", using the
// shortest representation of each float32.
func (v Vector) String() string {
	return string(appendVectorText(nil, v, -1))
}

// appendVectorText writes "[x,y,...]". prec -1 gives the shortest form;
// 9 significant digits always round-trip a float32 exactly, whatever way the
// server parses them, so the wire format uses that.
func appendVectorText(buf []byte, v []float32, prec int) []byte {
	buf = append(buf, '[')
	for i, x := range v {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, float64(x), 'g', prec, 32)
	}
	return append(buf, ']')
}

// vectorArrayText renders vectors as a PostgreSQL array literal of vector
// text forms: {"[1,2]","[3,4]"}. It is sent as text and cast to vector[] on
// the server, which avoids needing the vector type's OID on the client.
func vectorArrayText(vs [][]float32) string {
	buf := make([]byte, 0, 16*len(vs))
	buf = append(buf, '{')
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = appendVectorText(buf, v, 9)
		buf = append(buf, '"')
	}
	buf = append(buf, '}')
	return string(buf)
}
