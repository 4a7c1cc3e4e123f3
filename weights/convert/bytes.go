package convert

import "unsafe"

// float32Bytes and uint16Bytes reinterpret slices as little-endian bytes
// (the host order on every platform starc builds for; safetensors is
// little-endian).
func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

func uint16Bytes(u []uint16) []byte {
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*2)
}
