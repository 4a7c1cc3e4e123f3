package pim
import "testing"
func BenchmarkTmpSim2048(b *testing.B){
 s:=HBM3PIM(true); reqs:=AttAccRequests(s,2048)
 var ticks int64
 for b.Loop(){ d:=NewDevice(s); ctl:=NewController(d); ctl.Run(reqs); ticks=ctl.Ticks() }
 b.ReportMetric(float64(ticks),"ticks")
}
