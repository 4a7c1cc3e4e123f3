package pim
import ("testing";"fmt";"strings")
type logObs struct{ sb strings.Builder }
func (l *logObs) OnIssue(c Command, a Addr, clk int64){ fmt.Fprintf(&l.sb,"%d %v r%d c%d rk%d bg%d b%d\n",clk,c,a.Row,a.Column,a.Rank,a.BankGroup,a.Bank) }
func TestTmpSim(t *testing.T){
 s:=HBM3PIM(true); bad:=0
 for R:=1;R<=400;R++{
  cyc,_:=SimulateAttention(s,R); cf,_:=ClosedFormAttention(s,R)
  if cyc!=cf { bad++; if bad<60 {t.Logf("R=%d sim %d cf %d d=%d",R,cyc,cf,cyc-cf)}}
 }
 t.Logf("bad %d",bad)
}
func TestTmpLog(t *testing.T){
 s:=HBM3PIM(true)
 for _,R:=range []int{1,2}{
 d:=NewDevice(s); var l logObs; d.AddObserver(&l); ctl:=NewController(d); cyc:=ctl.Run(AttAccRequests(s,R)); cf,_:=ClosedFormAttention(s,R)
 t.Logf("R=%d cyc %d cf %d\n%s",R,cyc,cf,l.sb.String())
 }
}
