# Reads what docs/measure/outage.sh logged: how fast the 503s came while PostgreSQL was down,
# and how long after it was started again the first request succeeded.
import glob,sys
ev={l.split()[1]:float(l.split()[0]) for l in open('events.log')}
rows=[]
for f in glob.glob('answers-*.log'):
    for l in open(f):
        t,kind,code,dur=l.split(); t=float(t); rows.append((t,kind,int(code),float(dur)))
def pct(v,p):
    v=sorted(v); return v[min(len(v)-1,int(p*len(v)))] if v else None
down=[r for r in rows if ev['stop']<=r[0]<ev['start']]
print("during the outage: %d answers, statuses %s" % (len(down), sorted(set(r[2] for r in down))))
for kind in ('append','read'):
    d=[r[3]*1000 for r in down if r[1]==kind and r[2]==503]
    print("  %s 503s: %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (kind,len(d),pct(d,.5),pct(d,.99),max(d)))
first=[r for r in rows if r[0]>ev['start'] and r[2] in (200,201)]
firstok=min(r[0] for r in first)
print("first success %.2f s after PostgreSQL was started again" % (firstok-ev['start']))
after=[r for r in rows if r[0]>=firstok]
print("after: statuses", sorted(set(r[2] for r in after)))
print("never 5xx other than 503:", all(r[2] in (200,201,503) for r in rows))
