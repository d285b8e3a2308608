# Question: how do AMX permission and sigaltstack sizes interact?
# Answer: a request is refused with ENOSPC while any thread of the process
#   has an altstack smaller than the frame with AMX (here AT_MINSIGSTKSZ =
#   11952 bytes; the check is "<"). Once granted, sigaltstack() refuses
#   stacks that do not exceed AT_MINSIGSTKSZ - (11008 + 4 + 112) + 11008 =
#   11836 bytes with ENOMEM (">"). Before the grant, small stacks are
#   accepted (legacy leniency). Permission is per process: the request by
#   one thread covers the other.
machine cpu=intel-sapphire-rapids cpus=2
thread t1 on cpu0
clone t1 as t2
switch cpu1 to t2

expect minsigstksz == 11952
t2 sigaltstack 8192
expect errno t2 == 0
expect sigaltstack-min t1 == 2048
t1 arch_prctl REQ_XCOMP_PERM 18
expect errno t1 == ENOSPC
expect perm t1 & xtiledata == 0
t2 sigaltstack 11951
t1 arch_prctl REQ_XCOMP_PERM 18
expect errno t1 == ENOSPC
t2 sigaltstack 11952
t1 arch_prctl REQ_XCOMP_PERM 18
expect errno t1 == 0
expect perm t2 & xtiledata == xtiledata
# From now on small altstacks are refused.
expect sigaltstack-min t1 == 11837
t1 sigaltstack 11836
expect errno t1 == ENOMEM
expect altstack t1 == 0
t1 sigaltstack 11837
expect errno t1 == 0
expect altstack t1 == 11837
t2 sigaltstack 2048
expect errno t2 == ENOMEM
expect altstack t2 == 11952
