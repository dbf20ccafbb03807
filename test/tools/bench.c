// SPDX-License-Identifier: GPL-2.0
/*
 * bench - times the operations bindguard sits on, for test/bench/bench.sh (the
 * guest side is test/guest/boot-bench.sh). Static (gcc -static), in the
 * test initramfs as /bin/bench.
 *
 *   bench bind N BDF DRIVER LABEL     N pairs: bind BDF to DRIVER, unbind it
 *                                     (each pair timed; DRIVER must accept
 *                                     BDF: driver_override is the caller's)
 *   bench refuse N BDF DRIVER LABEL   N binds of BDF to DRIVER that are
 *                                     expected to fail (each timed); a bind
 *                                     that succeeds is counted and undone
 *   bench claim N GROUP LABEL         N claim + release cycles of an IOMMU
 *                                     group, as vfio-hold takes it: open
 *                                     /dev/vfio/vfio and /dev/vfio/GROUP,
 *                                     VFIO_GROUP_SET_CONTAINER (the claim),
 *                                     VFIO_SET_IOMMU type1v2, close both (the
 *                                     release)
 *   bench read N FILE LABEL           N reads of FILE, whole (open, read to
 *                                     EOF, close), each timed
 *   bench sriov N PF VFS LABEL        N VF churns of the SR-IOV device PF:
 *                                     VFS written to its sriov_numvfs (the
 *                                     VFs created), then 0 (destroyed); each
 *                                     pair timed
 *   bench exec LABEL CMD [ARG...]     run CMD once, timed from fork to wait
 *
 * Times come from clock_gettime(CLOCK_MONOTONIC). Each run prints one line
 *
 *   # bench: LABEL n=N ok=K p50=NS p90=NS min=NS mean=NS
 *
 * (nearest-rank percentiles of the N operations, nanoseconds; ok = how many
 * did what was expected: bound and unbound, refused, claimed and released,
 * read, exited 0). Exit status 1 if any operation was not ok, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* write STR to PATH in one write(); 0 or the errno */
static int put(const char *path, const char *str)
{
	int fd = open(path, O_WRONLY);
	int err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, str, strlen(str)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least P % of them at or below */
static uint64_t pct(const uint64_t *v, long n, int p)
{
	long k = (n * p + 99) / 100;

	return v[k > 0 ? k - 1 : 0];
}

static void report(const char *label, uint64_t *t, long n, long ok)
{
	long double sum = 0;
	long i;

	qsort(t, n, sizeof(*t), cmp_u64);
	for (i = 0; i < n; i++)
		sum += t[i];
	printf("# bench: %s n=%ld ok=%ld p50=%llu p90=%llu min=%llu mean=%.0Lf\n",
	       label, n, ok, (unsigned long long)pct(t, n, 50),
	       (unsigned long long)pct(t, n, 90), (unsigned long long)t[0],
	       sum / n);
}

static int claim_once(const char *gpath)
{
	int container, group, ok = 0;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return 0;
	group = open(gpath, O_RDWR);
	if (group >= 0) {
		ok = !ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) &&
		     !ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
		close(group);
	}
	close(container);
	return ok;
}

static int read_once(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return r == 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench bind|refuse N BDF DRIVER LABEL\n"
			"       bench claim N GROUP LABEL\n"
			"       bench read N FILE LABEL\n"
			"       bench sriov N PF VFS LABEL\n"
			"       bench exec LABEL CMD [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	char bind[256], unbind[256], gpath[64];
	const char *mode, *label;
	uint64_t *t, t0;
	long n, i, ok = 0;
	int err, last_err = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return usage();
	mode = argv[1];
	if (!strcmp(mode, "exec")) {
		pid_t pid;
		int st;

		t = malloc(sizeof(*t));
		t0 = now_ns();
		pid = fork();
		if (pid == 0) {
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			return 1;
		t[0] = now_ns() - t0;
		ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		report(argv[2], t, 1, ok);
		return !ok;
	}
	n = atol(argv[2]);
	if (n <= 0)
		return usage();
	t = calloc(n, sizeof(*t));
	if (!t)
		return 1;

	if (!strcmp(mode, "bind") || !strcmp(mode, "refuse")) {
		int refuse = mode[0] == 'r';

		if (argc != 6)
			return usage();
		snprintf(bind, sizeof(bind), "/sys/bus/pci/drivers/%s/bind", argv[4]);
		snprintf(unbind, sizeof(unbind), "/sys/bus/pci/drivers/%s/unbind", argv[4]);
		label = argv[5];
		for (i = 0; i < n; i++) {
			t0 = now_ns();
			err = put(bind, argv[3]);
			if (!refuse && !err)
				err = put(unbind, argv[3]);
			t[i] = now_ns() - t0;
			if (refuse && !err)
				put(unbind, argv[3]);	/* not refused: undo */
			ok += refuse ? err != 0 : err == 0;
			if (err)
				last_err = err;
		}
	} else if (!strcmp(mode, "claim")) {
		if (argc != 5)
			return usage();
		snprintf(gpath, sizeof(gpath), "/dev/vfio/%s", argv[3]);
		label = argv[4];
		for (i = 0; i < n; i++) {
			t0 = now_ns();
			err = claim_once(gpath);
			t[i] = now_ns() - t0;
			ok += err;
		}
	} else if (!strcmp(mode, "read")) {
		if (argc != 5)
			return usage();
		label = argv[4];
		for (i = 0; i < n; i++) {
			t0 = now_ns();
			err = read_once(argv[3]);
			t[i] = now_ns() - t0;
			ok += err;
		}
	} else if (!strcmp(mode, "sriov")) {
		if (argc != 6)
			return usage();
		snprintf(bind, sizeof(bind), "/sys/bus/pci/devices/%s/sriov_numvfs", argv[3]);
		label = argv[5];
		for (i = 0; i < n; i++) {
			t0 = now_ns();
			err = put(bind, argv[4]);
			if (!err)
				err = put(bind, "0");
			t[i] = now_ns() - t0;
			ok += err == 0;
			if (err)
				last_err = err;
		}
	} else {
		return usage();
	}
	report(label, t, n, ok);
	if (last_err && ok < n)
		printf("# bench: %s: last error %s\n", label, strerror(last_err));
	return ok != n;
}
