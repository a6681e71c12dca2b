package n2

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// Tests that need no database.

func TestVectorBinaryRoundTrip(t *testing.T) {
	v := Vector{1, -2.5, float32(math.Pi), 0}
	buf, err := v.EncodeBinary(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 4+4*len(v) {
		t.Fatalf("encoded %d bytes, want %d", len(buf), 4+4*len(v))
	}
	if d := binary.BigEndian.Uint16(buf[0:2]); d != 4 {
		t.Fatalf("dimension header %d, want 4", d)
	}
	if u := binary.BigEndian.Uint16(buf[2:4]); u != 0 {
		t.Fatalf("reserved header %d, want 0", u)
	}
	if !bytes.Equal(buf[4:8], []byte{0x3f, 0x80, 0, 0}) { // 1.0f big-endian
		t.Fatalf("first element bytes % x", buf[4:8])
	}
	var back Vector
	if err := back.DecodeBinary(nil, buf); err != nil {
		t.Fatal(err)
	}
	if back.String() != v.String() {
		t.Fatalf("round trip %v != %v", back, v)
	}
	if err := back.DecodeBinary(nil, buf[:7]); err == nil {
		t.Fatal("short buffer accepted")
	}
	if nilBuf, _ := Vector(nil).EncodeBinary(nil, nil); nilBuf != nil {
		t.Fatal("nil vector should encode as NULL")
	}
}

func TestVectorText(t *testing.T) {
	v, err := ParseVector(" [1, 2.5,-3e-2] ")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[1,2.5,-0.03]" {
		t.Fatalf("String() = %s", got)
	}
	for _, bad := range []string{"", "1,2", "[1,x]", "[1,2"} {
		if _, err := ParseVector(bad); err == nil {
			t.Errorf("ParseVector(%q) accepted", bad)
		}
	}
	var d Vector
	if err := d.DecodeText(nil, []byte("[4,5]")); err != nil || len(d) != 2 || d[1] != 5 {
		t.Fatalf("DecodeText: %v %v", d, err)
	}
}

func TestVectorArrayTextIsExact(t *testing.T) {
	x := float32(0.1)
	y := math.Nextafter32(1, 2) // 1 + ulp
	s := vectorArrayText([][]float32{{x, y}, {-2}})
	if !strings.HasPrefix(s, `{"[`) || !strings.HasSuffix(s, `]"}`) || strings.Count(s, `"`) != 4 {
		t.Fatalf("array literal %s", s)
	}
	inner := s[2 : strings.Index(s, `]"`)+1]
	v, err := ParseVector(inner)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != x || v[1] != y {
		t.Fatalf("9-digit text lost precision: %s", inner)
	}
}

func TestMetricNames(t *testing.T) {
	for in, want := range map[string]string{"": Angular, "angular": Angular, "L2": L2, "l2": L2,
		"euclidean": L2, "dot": Dot, "DOT": Dot} {
		got, err := normalizeMetric(in)
		if err != nil || got != want {
			t.Errorf("normalizeMetric(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeMetric("cosine"); err == nil {
		t.Error("unknown metric accepted")
	}
	if d := toN2Distance(L2, 3); d != 9 {
		t.Errorf("L2 distance 3 reported as %v, want 9 (squared)", d)
	}
	if d := toN2Distance(Dot, -17); d != 17 {
		t.Errorf("dot <#> -17 reported as %v, want 17", d)
	}
	if d := toN2Distance(Angular, 0.25); d != 0.25 {
		t.Errorf("angular 0.25 reported as %v", d)
	}
}

func TestQuoting(t *testing.T) {
	if q := quoteLiteral("it's"); q != "'it''s'" {
		t.Errorf("quoteLiteral = %s", q)
	}
	if q := quoteLiteral(`a\b`); q != `E'a\\b'` {
		t.Errorf("quoteLiteral backslash = %s", q)
	}
	if q := ident(`test.ann`); q != `"test.ann"` {
		t.Errorf("ident = %s", q)
	}
	if q := ident(`a"b`); q != `"a""b"` {
		t.Errorf("ident quote = %s", q)
	}
	if err := checkName(strings.Repeat("x", 61)); err == nil {
		t.Error("61-byte name accepted")
	}
	if err := checkName(strings.Repeat("x", 60)); err != nil {
		t.Error(err)
	}
}
