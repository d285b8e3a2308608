/* Scenario parser: lines -> statements, names -> ids, values -> bytes.
 *
 * The whole file is parsed before anything runs, so a malformed file fails
 * with "FILE:LINE: reason" (exit 2) without a partial run. Names are checked
 * against the declarations seen so far, registers against the CPU model of
 * the machine line. The grammar is in docs/readme/31-sim-and-scenarios.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xstate/sim.h"

#define SIM_LINE_MAX 65536

int sim_parse_error(struct sim_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, sizeof(p->err), "%s:%u: ", p->file, p->line);
	if (n < 0 || (size_t)n >= sizeof(p->err))
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, sizeof(p->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int sim_parse_argc(struct sim_parser *p, const struct sim_stmt *s, int min, int max)
{
	if (s->argc < min || s->argc > max)
		return sim_parse_error(p, "%s: expected '%s'", s->argc < min ? "too few words" :
				       "too many words", s->verb->usage);
	return 0;
}

int sim_parse_word(struct sim_parser *p, const struct sim_stmt *s, int i, const char *word)
{
	if (i >= s->argc || strcmp(s->argv[i], word) != 0)
		return sim_parse_error(p, "expected '%s' (usage: %s)", word, s->verb->usage);
	return 0;
}

static bool valid_name(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || n >= SIM_NAME_MAX)
		return false;
	if (!isalpha((unsigned char)w[0]) && w[0] != '_')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '_' && w[i] != '-' && w[i] != '.')
			return false;
	return true;
}

/* Words that cannot name a task or process: they would make statements
 * ambiguous ("switch cpu0 to idle", "expect owner cpu0 == none"). */
static bool reserved_name(const char *w)
{
	static const char *const words[] = { "idle", "none", "kernel", "init", "nobody", "expect",
					      "all" };

	if (!strncmp(w, "cpu", 3) && isdigit((unsigned char)w[3]))
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i]))
			return true;
	return sim_verb_find(SIM_VERB_STMT, w) || sim_verb_find(SIM_VERB_TASK, w) ||
	       sim_verb_find(SIM_VERB_EXPECT, w);
}

static int find_task(const struct sim_parser *p, const char *w)
{
	for (unsigned i = 0; i < p->ntasks; i++)
		if (!strcmp(p->tasks[i].name, w))
			return (int)i + 1;
	return 0;
}

static int find_proc(const struct sim_parser *p, const char *w)
{
	for (unsigned i = 0; i < p->nprocs; i++)
		if (!strcmp(p->procs[i], w))
			return (int)i + 1;
	return 0;
}

int sim_parse_task(struct sim_parser *p, const char *word, int *id)
{
	int t = find_task(p, word);

	if (!t)
		return sim_parse_error(p, "unknown task '%s' (declare it with thread, kthread, "
				       "fork or clone first)", word);
	*id = t;
	return 0;
}

int sim_parse_task_or_idle(struct sim_parser *p, const char *word, int *id)
{
	if (!strcmp(word, "idle")) {
		*id = 0;
		return 0;
	}
	return sim_parse_task(p, word, id);
}

int sim_parse_new_task(struct sim_parser *p, const char *word, enum sim_task_kind kind,
		       unsigned proc, int *id)
{
	struct sim_symbol *sym;

	if (!valid_name(word) || reserved_name(word))
		return sim_parse_error(p, "'%s' cannot name a task (1-%d letters, digits, _ - ., "
				       "starting with a letter; not a keyword or cpuN)", word,
				       SIM_NAME_MAX - 1);
	if (find_task(p, word))
		return sim_parse_error(p, "task '%s' already declared on line %u", word,
				       p->tasks[find_task(p, word) - 1].line);
	if (p->ntasks >= SIM_SYM_MAX)
		return sim_parse_error(p, "too many tasks (at most %d)", SIM_SYM_MAX);
	if (p->ntasks == p->cap_tasks) {
		unsigned cap = p->cap_tasks ? p->cap_tasks * 2 : 16;
		struct sim_symbol *n = realloc(p->tasks, cap * sizeof(*n));
		if (!n)
			return sim_parse_error(p, "out of memory");
		p->tasks = n;
		p->cap_tasks = cap;
	}
	sym = &p->tasks[p->ntasks++];
	memset(sym, 0, sizeof(*sym));
	snprintf(sym->name, sizeof(sym->name), "%s", word);
	sym->kind = kind;
	sym->proc = proc;
	sym->line = p->line;
	*id = (int)p->ntasks;
	return 0;
}

int sim_parse_proc(struct sim_parser *p, const char *word, int *id)
{
	int n = find_proc(p, word);

	if (!n)
		return sim_parse_error(p, "unknown process '%s' (declare it with 'process %s')",
				       word, word);
	*id = n;
	return 0;
}

int sim_parse_new_proc(struct sim_parser *p, const char *word, int *id)
{
	if (!valid_name(word) || reserved_name(word))
		return sim_parse_error(p, "'%s' cannot name a process", word);
	if (find_proc(p, word))
		return sim_parse_error(p, "process '%s' already declared", word);
	if (p->nprocs >= SIM_SYM_MAX)
		return sim_parse_error(p, "too many processes (at most %d)", SIM_SYM_MAX);
	if (p->nprocs == p->cap_procs) {
		unsigned cap = p->cap_procs ? p->cap_procs * 2 : 16;
		char (*n)[SIM_NAME_MAX] = realloc(p->procs, cap * sizeof(*n));
		if (!n)
			return sim_parse_error(p, "out of memory");
		p->procs = n;
		p->cap_procs = cap;
	}
	snprintf(p->procs[p->nprocs], SIM_NAME_MAX, "%s", word);
	*id = (int)++p->nprocs;
	return 0;
}

int sim_parse_cpu(struct sim_parser *p, const char *word, int *cpu)
{
	char *end;
	unsigned long v;

	if (strncmp(word, "cpu", 3) != 0 || !isdigit((unsigned char)word[3]))
		return sim_parse_error(p, "expected a CPU (cpu0, cpu1 ...), got '%s'", word);
	errno = 0;
	v = strtoul(word + 3, &end, 10);
	if (errno || *end)
		return sim_parse_error(p, "expected a CPU (cpu0, cpu1 ...), got '%s'", word);
	if (v >= p->ncpus)
		return sim_parse_error(p, "%s: the machine has %u CPU%s (cpu0..cpu%u)", word,
				       p->ncpus, p->ncpus == 1 ? "" : "s", p->ncpus - 1);
	*cpu = (int)v;
	return 0;
}

int sim_parse_u64(struct sim_parser *p, const char *word, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!*word || *word == '-' || *word == '+' || isspace((unsigned char)*word))
		return sim_parse_error(p, "expected a number, got '%s'", word);
	errno = 0;
	x = strtoull(word, &end, 0);
	if (errno || *end)
		return sim_parse_error(p, "expected a number, got '%s'", word);
	*v = x;
	return 0;
}

static const char *const cmp_names[] = { "==", "!=", "<", "<=", ">", ">=" };

int sim_parse_cmp(struct sim_parser *p, const char *word, int *op)
{
	for (int i = 0; i < 6; i++)
		if (!strcmp(word, cmp_names[i])) {
			*op = i;
			return 0;
		}
	return sim_parse_error(p, "expected a comparison (== != < <= > >=), got '%s'", word);
}

const char *sim_cmp_name(int op)
{
	return op >= 0 && op < 6 ? cmp_names[op] : "?";
}

bool sim_cmp_u64(uint64_t got, int op, uint64_t want)
{
	switch (op) {
	case SIM_EQ: return got == want;
	case SIM_NE: return got != want;
	case SIM_LT: return got < want;
	case SIM_LE: return got <= want;
	case SIM_GT: return got > want;
	case SIM_GE: return got >= want;
	}
	return false;
}

int sim_parse_mask(struct sim_parser *p, const char *word, uint64_t *mask)
{
	if (xs_mask_parse(word, mask) != 0)
		return sim_parse_error(p, "expected a component mask (a number or names such as "
				       "sse|avx), got '%s'", word);
	return 0;
}

int sim_parse_comp(struct sim_parser *p, const char *word, int *comp)
{
	int c = xs_comp_lookup(word);

	if (c < 0)
		return sim_parse_error(p, "unknown component '%s'", word);
	if (p->model && !(p->model->xcr0_supported & XS_BIT(c)))
		return sim_parse_error(p, "component '%s' is not a user component of CPU model %s",
				       word, p->model->name);
	*comp = c;
	return 0;
}

int sim_parse_reg(struct sim_parser *p, const char *word, struct xs_reg *r)
{
	if (!p->model)
		return sim_parse_error(p, "the machine line must come first");
	if (xs_reg_lookup(p->model, word, r) != 0)
		return sim_parse_error(p, "'%s' is not a register of CPU model %s", word,
				       p->model->name);
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* "0x..." as a number, most significant digit first, zero-extended. */
static int parse_hex_number(struct sim_parser *p, const char *hex, uint8_t *v, size_t size)
{
	size_t n = strlen(hex), byte = 0;
	unsigned shift = 0;

	if (n == 0)
		return sim_parse_error(p, "'0x' needs hex digits");
	for (size_t i = n; i-- > 0;) {
		int d = hexval((unsigned char)hex[i]);
		if (d < 0 || hex[i] == '_') {
			if (hex[i] == '_')  /* digit-group separator */
				continue;
			return sim_parse_error(p, "bad hex digit '%c' in a value", hex[i]);
		}
		if (byte >= size) {
			if (d != 0)
				return sim_parse_error(p, "value has more than %zu bytes", size);
			continue;
		}
		v[byte] |= (uint8_t)(d << shift);
		shift += 4;
		if (shift == 8) {
			shift = 0;
			byte++;
		}
	}
	return 0;
}

static int parse_byte(struct sim_parser *p, const char *w, uint8_t *b)
{
	uint64_t v;

	if (sim_parse_u64(p, w, &v))
		return -1;
	if (v > 0xFF)
		return sim_parse_error(p, "byte value %s is larger than 0xff", w);
	*b = (uint8_t)v;
	return 0;
}

int sim_parse_value(struct sim_parser *p, const char *w, size_t size, uint8_t **out)
{
	uint8_t *v = calloc(1, size ? size : 1);
	uint8_t b = 0;

	if (!v)
		return sim_parse_error(p, "out of memory");
	*out = v;
	if (!strncmp(w, "fill:", 5)) {
		if (parse_byte(p, w + 5, &b))
			return -1;
		memset(v, b, size);
		return 0;
	}
	if (!strcmp(w, "seq") || !strncmp(w, "seq:", 4)) {
		b = 0;
		if (w[3] == ':' && parse_byte(p, w + 4, &b))
			return -1;
		for (size_t i = 0; i < size; i++)
			v[i] = (uint8_t)(b + i);
		return 0;
	}
	if (!strcmp(w, "zero"))
		return 0;
	if (!strncmp(w, "bytes:", 6)) {
		const char *h = w + 6;
		size_t n = strlen(h);
		if (n == 0 || n % 2)
			return sim_parse_error(p, "bytes: needs an even number of hex digits");
		if (n / 2 > size)
			return sim_parse_error(p, "bytes: gives %zu bytes, the register has %zu",
					       n / 2, size);
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval((unsigned char)h[2 * i]), lo = hexval((unsigned char)h[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return sim_parse_error(p, "bad hex digit in '%s'", w);
			v[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
		return parse_hex_number(p, w + 2, v, size);
	if (isdigit((unsigned char)w[0])) {
		uint64_t x;
		if (sim_parse_u64(p, w, &x))
			return -1;
		for (size_t i = 0; i < 8; i++) {
			if (i < size)
				v[i] = (uint8_t)(x >> (8 * i));
			else if ((x >> (8 * i)) & 0xFF)
				return sim_parse_error(p, "value %s does not fit in %zu bytes", w,
						       size);
		}
		return 0;
	}
	return sim_parse_error(p, "expected a value (0xHEX, a number, fill:0xBB, seq, seq:0xBB, "
			       "zero, bytes:HEX), got '%s'", w);
}

static const struct {
	const char *name;
	enum xs_fault f;
} faults[] = {
	{ "none", XS_OK }, { "#UD", XS_UD }, { "#NM", XS_NM },
	{ "#GP", XS_GP },  { "#AC", XS_AC }, { "#PF", XS_PF },
};

static bool is_fault_word(const char *w)
{
	for (size_t i = 1; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (!strcasecmp(w, faults[i].name))
			return true;
	return false;
}

int sim_parse_fault(struct sim_parser *p, const char *word, enum xs_fault *f)
{
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (!strcasecmp(word, faults[i].name) ||
		    (word[0] != '#' && i && !strcasecmp(word, faults[i].name + 1))) {
			*f = faults[i].f;
			return 0;
		}
	return sim_parse_error(p, "expected a fault (#UD #NM #GP #AC #PF none), got '%s'", word);
}

static const struct {
	const char *name;
	int signo;
} signals[] = {
	{ "none", 0 }, { "SIGILL", XK_SIGILL }, { "SIGBUS", XK_SIGBUS }, { "SIGSEGV", XK_SIGSEGV },
	/* sent by the user-ABI verbs (T signal SIG) */
	{ "SIGUSR1", 10 }, { "SIGUSR2", 12 }, { "SIGALRM", 14 },
};

int sim_parse_signal(struct sim_parser *p, const char *word, int *signo)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(word, signals[i].name)) {
			*signo = signals[i].signo;
			return 0;
		}
	return sim_parse_error(p, "expected a signal (SIGILL SIGBUS SIGSEGV none), got '%s'", word);
}

const char *sim_signal_name(int signo)
{
	static char buf[16];

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].signo == signo)
			return signals[i].name;
	snprintf(buf, sizeof(buf), "signal %d", signo);
	return buf;
}

/* ---- Lines and statements ---- */

/* Split line (modified in place) into words. A word that starts with '#'
 * starts a comment, except the fault names (#NM ...). */
static int split_words(struct sim_parser *p, char *line, char **argv, int *argc)
{
	int n = 0;
	char *s = line;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s)
			break;
		char *w = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s)
			*s++ = '\0';
		if (w[0] == '#' && !is_fault_word(w))
			break;
		if (n >= SIM_MAX_ARGS)
			return sim_parse_error(p, "too many words (at most %d)", SIM_MAX_ARGS);
		argv[n++] = w;
	}
	*argc = n;
	return 0;
}

/* The statement text for traces: words joined by one blank. */
static char *join_words(char **argv, int argc)
{
	size_t n = 1;
	char *t, *q;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	t = malloc(n);
	if (!t)
		return NULL;
	q = t;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (i)
			*q++ = ' ';
		memcpy(q, argv[i], l);
		q += l;
	}
	*q = '\0';
	return t;
}

static void stmt_free(struct sim_stmt *s)
{
	if (s->argc > 0 || s->argv[0])
		free(s->argv[0]);  /* the words live in one buffer starting at argv[0] */
	free(s->text);
	free(s->a.val);
	free(s->a.ext);
	memset(s, 0, sizeof(*s));
}

static const struct sim_verb *pick_verb(struct sim_parser *p, struct sim_stmt *s)
{
	const struct sim_verb *v = sim_verb_find(SIM_VERB_STMT, s->argv[0]);

	if (v)
		return v;
	if (find_task(p, s->argv[0])) {
		if (s->argc < 2) {
			sim_parse_error(p, "'%s' what? (a task verb such as write, read, touch)",
					s->argv[0]);
			return NULL;
		}
		v = sim_verb_find(SIM_VERB_TASK, s->argv[1]);
		if (!v)
			sim_parse_error(p, "unknown task verb '%s' (known: write read touch "
					"vzeroupper tilerelease fninit ldmxcsr wrpkru syscall)",
					s->argv[1]);
		return v;
	}
	if (sim_verb_find(SIM_VERB_TASK, s->argv[0]) && s->argc >= 2)
		sim_parse_error(p, "unknown statement '%s' (task verbs follow the task: '%s %s')",
				s->argv[0], s->argv[1], s->argv[0]);
	else
		sim_parse_error(p, "unknown statement or task '%s'", s->argv[0]);
	return NULL;
}

static int parse_line(struct sim_parser *p, struct sim_scenario *sc, const char *line, size_t len)
{
	struct sim_stmt s;
	char *buf;

	memset(&s, 0, sizeof(s));
	buf = malloc(len + 1);
	if (!buf)
		return sim_parse_error(p, "out of memory");
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return free(buf), sim_parse_error(p, "NUL byte in the line");
	if (split_words(p, buf, s.argv, &s.argc)) {
		free(buf);
		return -1;
	}
	if (s.argc == 0) {
		free(buf);
		return 0;
	}
	/* argv[0] must point at buf for stmt_free(): move the first word there. */
	if (s.argv[0] != buf) {
		size_t off = (size_t)(s.argv[0] - buf);
		memmove(buf, s.argv[0], len + 1 - off);
		for (int i = 0; i < s.argc; i++)
			s.argv[i] -= off;
	}
	s.line = p->line;
	s.text = join_words(s.argv, s.argc);
	if (!s.text) {
		free(buf);
		return sim_parse_error(p, "out of memory");
	}
	s.verb = pick_verb(p, &s);
	if (!s.verb) {
		stmt_free(&s);
		return -1;
	}
	if (!p->have_machine && strcmp(s.verb->name, "machine") != 0) {
		stmt_free(&s);
		return sim_parse_error(p, "the first statement must be 'machine cpu=MODEL cpus=N ...'");
	}
	if (s.verb->parse && s.verb->parse(p, &s)) {
		stmt_free(&s);
		return -1;
	}
	if (s.verb->kind == SIM_VERB_EXPECT)
		sc->nexpect++;
	if (sc->nstmts == sc->cap) {
		unsigned cap = sc->cap ? sc->cap * 2 : 64;
		struct sim_stmt *n = realloc(sc->stmts, cap * sizeof(*n));
		if (!n) {
			stmt_free(&s);
			return sim_parse_error(p, "out of memory");
		}
		sc->stmts = n;
		sc->cap = cap;
	}
	sc->stmts[sc->nstmts++] = s;
	return 0;
}

int sim_scenario_parse(const char *text, const char *file, struct sim_scenario **out, char *err,
		       size_t errlen)
{
	struct sim_scenario *sc = calloc(1, sizeof(*sc));
	struct sim_parser p;
	const char *s = text;
	int rc = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = file ? file : "<scenario>";
	if (!sc || !(sc->file = strdup(p.file))) {
		free(sc);
		snprintf(err, errlen, "%s: out of memory", p.file);
		return -1;
	}
	p.sc = sc;
	xk_policy_default(&sc->policy);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		p.line++;
		if (len >= SIM_LINE_MAX) {
			rc = sim_parse_error(&p, "line longer than %d bytes", SIM_LINE_MAX);
			break;
		}
		if (parse_line(&p, sc, s, len)) {
			rc = -1;
			break;
		}
		s += len;
		if (*s == '\n')
			s++;
	}
	if (!rc && !p.have_machine) {
		p.line = p.line ? p.line : 1;
		rc = sim_parse_error(&p, "no 'machine' statement");
	}
	sc->ntasks = p.ntasks;
	sc->nprocs = p.nprocs;
	free(p.tasks);
	free(p.procs);
	if (rc) {
		snprintf(err, errlen, "%s", p.err);
		sim_scenario_free(sc);
		return -1;
	}
	*out = sc;
	return 0;
}

int sim_scenario_load(const char *path, struct sim_scenario **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *n;
			if (ncap > (64u << 20)) {
				snprintf(err, errlen, "%s: file larger than 64 MiB", path);
				free(text);
				fclose(f);
				return -1;
			}
			n = realloc(text, ncap);
			if (!n) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(text);
				fclose(f);
				return -1;
			}
			text = n;
			cap = ncap;
		}
		size_t got = fread(text + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	text[len] = '\0';
	if (strlen(text) != len) {
		/* Report the line of the NUL byte. */
		unsigned line = 1;
		for (size_t i = 0; i < len && text[i]; i++)
			line += text[i] == '\n';
		snprintf(err, errlen, "%s:%u: NUL byte in the line", path, line);
		free(text);
		return -1;
	}
	rc = sim_scenario_parse(text, path, out, err, errlen);
	free(text);
	return rc;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (unsigned i = 0; i < sc->nstmts; i++)
		stmt_free(&sc->stmts[i]);
	free(sc->stmts);
	free(sc->file);
	free(sc);
}

const struct sim_verb *sim_verb_find(enum sim_verb_kind kind, const char *name)
{
	for (const struct sim_verb_set *const *set = sim_verb_registry; *set; set++)
		for (size_t i = 0; i < (*set)->n; i++)
			if ((*set)->verbs[i].kind == kind && !strcmp((*set)->verbs[i].name, name))
				return &(*set)->verbs[i];
	return NULL;
}
