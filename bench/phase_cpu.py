#!/usr/bin/env python3
"""phase_cpu.py OUT_FILE CMD...: run CMD with stdout to OUT_FILE; poll its CPU time every 20 ms and
note the wall and CPU time when stdout first receives output (the first generated token);
print JSON: wall/cpu totals, at the first output, peak RSS (rusage) and the load average."""
import json, os, sys, time

out, cmd = sys.argv[1], sys.argv[2:]
tck = os.sysconf("SC_CLK_TCK")
load0 = open("/proc/loadavg").read().split()[:3]
t0 = time.monotonic()
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.execvp(cmd[0], cmd)
os.close(fd)

def cpu():
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / tck
    except (OSError, IndexError):
        return None

first = None
last_cpu = 0.0
while True:
    r = os.wait4(pid, os.WNOHANG)
    if r[0] != 0:
        break
    c = cpu()
    if c is not None:
        last_cpu = c
    if first is None and os.path.getsize(out) > 0:
        first = (time.monotonic() - t0, last_cpu)
    time.sleep(0.02)
wall = time.monotonic() - t0
_, status, ru = r
res = {
    "cmd": " ".join(cmd), "exit": os.waitstatus_to_exitcode(status),
    "wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
    "user_s": round(ru.ru_utime, 3), "sys_s": round(ru.ru_stime, 3),
    "first_output_wall_s": first and round(first[0], 3), "first_output_cpu_s": first and round(first[1], 3),
    "maxrss_mb": round(ru.ru_maxrss / 1024, 1),
    "load_start": load0, "load_end": open("/proc/loadavg").read().split()[:3],
    "start_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - wall)),
}
print(json.dumps(res))
