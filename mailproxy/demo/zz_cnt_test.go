package demo
import ("testing";"time")
func TestCnt(t *testing.T){ for k,v:=range Messages(time.Now()){ n:=0; for _,m:=range v{n+=len(m)}; t.Log(k,len(v),n)} }
