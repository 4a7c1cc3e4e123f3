package pim
import "testing"
func TestTmpSim(t *testing.T){
 s:=HBM3PIM(true); bad:=0
 for R:=1;R<=3000;R++{
  cyc,_:=SimulateAttention(s,R); cf,_:=ClosedFormAttention(s,R)
  if cyc!=cf { bad++; if bad<60 {t.Logf("R=%d sim %d cf %d d=%d",R,cyc,cf,cyc-cf)}}
 }
 t.Logf("bad %d",bad)
}
