# Question: (seed 001) does Linux manage the user-interrupt state
#   (component 14) at all?
# Answer: no. The UINTR RFC (2021) was never merged: component 14 stays out
#   of IA32_XSS and of every buffer even on CPUs that have it, and the
#   registration system call does not exist (-EOPNOTSUPP here). Policies
#   uintr=ordinary and uintr=independent boot the two designs seed 001
#   debated: see uintr-ordinary.xs and uintr-independent.xs.
machine cpu=intel-sapphire-rapids cpus=1
thread r on cpu0

expect class uintr == unsupported
expect config xss & uintr == 0
expect config max & uintr == 0
r uintr register fails EOPNOTSUPP
