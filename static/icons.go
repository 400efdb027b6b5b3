package static

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// The PNG icons (192 and 512 px, for the web manifest and home screens)
// and favicon.ico are drawn here at start-up from the same shapes as
// icon.svg, so no binary file needs keeping in step with it.

var (
	iconBlue  = color.NRGBA{0x0b, 0x57, 0xd0, 0xff}
	iconWhite = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

// drawIcon draws the icon at size px: a rounded blue square with a white
// envelope, in icon.svg's 64-unit coordinates scaled up.
func drawIcon(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size) / 64
	for y := range size {
		for x := range size {
			// Sample the pixel centre in icon units.
			u, v := (float64(x)+.5)/s, (float64(y)+.5)/s
			if !inRounded(u, v, 64, 12) {
				continue
			}
			c := iconBlue
			if onEnvelope(u, v) {
				c = iconWhite
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// inRounded tells whether (u, v) lies in the w×w square with corner radius r.
func inRounded(u, v, w, r float64) bool {
	cu, cv := math.Min(math.Max(u, r), w-r), math.Min(math.Max(v, r), w-r)
	return math.Hypot(u-cu, v-cv) <= r
}

// onEnvelope tells whether (u, v) is on the envelope's 4-unit strokes:
// the outline of the rectangle (12,20)-(52,46) and the flap's V to (32,35).
func onEnvelope(u, v float64) bool {
	const half = 2
	near := func(a, b float64) bool { return math.Abs(a-b) <= half }
	if u >= 12-half && u <= 52+half && v >= 20-half && v <= 46+half {
		if near(u, 12) || near(u, 52) || near(v, 20) || near(v, 46) {
			return true
		}
	}
	for _, seg := range [][4]float64{{12, 20, 32, 35}, {52, 20, 32, 35}} {
		if segDist(u, v, seg) <= half {
			return true
		}
	}
	return false
}

// segDist is the distance from (u, v) to the segment s (x1, y1, x2, y2).
func segDist(u, v float64, s [4]float64) float64 {
	dx, dy := s[2]-s[0], s[3]-s[1]
	t := math.Max(0, math.Min(1, ((u-s[0])*dx+(v-s[1])*dy)/(dx*dx+dy*dy)))
	return math.Hypot(u-(s[0]+t*dx), v-(s[1]+t*dy))
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// icoOf wraps one PNG of size px in an ICO container (PNG-in-ICO, read
// by every browser that asks for /favicon.ico).
func icoOf(pngData []byte, size int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	dim := byte(size)                                         // 0 means 256
	b.Write([]byte{dim, dim, 0, 0})                           // width, height, no palette, reserved
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})   // colour planes, bits per pixel
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(len(pngData)), 6 + 16})
	b.Write(pngData)
	return b.Bytes()
}
