# Question: can the kernel take AMX buffers back under memory pressure,
#   and which ones?
# Answer: not in Linux; policy harvest=on (seed 004's "lazy harvest"). A
#   `memory-pressure` step frees the large buffer of every task that is not
#   running and whose tile data is in its initial configuration ("clean,
#   unused"): its state moves back into the default buffer, XFD is re-armed
#   for it, the memory is released. Live tile data is never dropped, a
#   running task is left alone, and a buffer the task pre-allocated is
#   never harvested (the guarantee of seed 004 item 7). A harvested task
#   loses nothing: its next tile use takes #NM and allocates again.
machine cpu=intel-sapphire-rapids cpus=2 harvest=on prealloc=on
thread clean on cpu0
thread dirty on cpu1

clean arch_prctl REQ_XCOMP_PERM 18
clean write zmm9 = fill:0x99
clean write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
clean write tmm0 = fill:0x01
clean tilerelease
dirty arch_prctl REQ_XCOMP_PERM 18
dirty write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
dirty write tmm0 = fill:0x02
switch cpu0 to idle
thread pre on cpu0
pre arch_prctl REQ_XCOMP_PERM 18
pre arch_prctl REQ_XCOMP_PREALLOC 18
switch cpu0 to idle
switch cpu1 to idle
expect mem == 39936

memory-pressure
expect harvested == 1
expect buffer clean == default
expect buffer dirty == grown
expect buffer pre == prealloc
expect mem == 29184
expect mem clean == 2560

switch cpu0 to clean
expect clean zmm9 == fill:0x99
expect xfd cpu0 == xtiledata
clean write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
clean write tmm0 = fill:0x03
expect fault clean == #NM
expect buffer clean == grown
switch cpu1 to dirty
expect dirty tmm0 == fill:0x02
