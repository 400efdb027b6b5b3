package dovecottest
import ("testing";"time";"syscall";"sort")
func cpu() time.Duration { var r syscall.Rusage; syscall.Getrusage(syscall.RUSAGE_SELF,&r); return time.Duration(r.Utime.Nano()+r.Stime.Nano()) }
func TestDbg(t *testing.T){
	var ds []time.Duration
	for i:=0;i<10;i++ { t.Run("s", func(t *testing.T){ t0:=time.Now(); Start(t,nil); ds=append(ds,time.Since(t0)) }) }
	sort.Slice(ds,func(i,j int)bool{return ds[i]<ds[j]}); t.Logf("start: min %v median %v max %v", ds[0], ds[5], ds[9])
	s:=Start(t,nil)
	t0:=time.Now(); c0:=cpu(); msgs:=GenerateMessages(100000, genStart); t.Logf("generate 100k: wall %v cpu %v", time.Since(t0), cpu()-c0)
	t0=time.Now(); c0=cpu(); s.WriteMessages(t,"alice","INBOX",msgs,nil); t.Logf("write 100k new/: wall %v cpu %v", time.Since(t0), cpu()-c0)
	fl:=make([]string,len(msgs)); for i:=range fl { fl[i]=`\Seen` }
	t0=time.Now(); c0=cpu(); s.WriteMessages(t,"alice","Seen",msgs,fl); t.Logf("write 100k cur/ (+doveadm create): wall %v cpu %v", time.Since(t0), cpu()-c0)
	c := dial(t, s, DefaultUser, DefaultPassword)
	t0=time.Now(); d,err:=c.Select("INBOX",nil).Wait(); t.Logf("first SELECT INBOX (100k in new/) %v %v %v", time.Since(t0), d.NumMessages, err)
	t0=time.Now(); d,err=c.Select("Seen",nil).Wait(); t.Logf("first SELECT Seen (100k in cur/) %v %v %v", time.Since(t0), d.NumMessages, err)
	t0=time.Now(); d,err=c.Select("INBOX",nil).Wait(); t.Logf("second SELECT INBOX %v %v", time.Since(t0), err)
}
