# Question: what happens when a task uses AMX tile data (a dynamic, XFD-armed
#   feature) without having asked for permission?
# Answer: IA32_XFD has XTILEDATA armed for every task that has not been
#   granted it, so the first TMM access raises #NM with IA32_XFD_ERR set; the
#   kernel's handler sees no permission in the process and sends SIGILL
#   (ILL_ILLOPC). Nothing is allocated, and the tile registers are never
#   observable to it. XTILECFG is not XFD-armed: configuring the tiles
#   (LDTILECFG: palette 1, tmm0 with 16 rows of 64 bytes) works.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0

expect xfd cpu0 == xtiledata
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
expect fault t1 == none
t1 write tmm0 = fill:0x01
expect fault t1 == #NM
expect signal t1 == SIGILL
expect mem t1 == 2560
