// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-hold - the "VM" of the tests: takes an IOMMU group for userspace the
 * way QEMU does with a legacy VFIO container, then holds it until killed.
 *
 *   vfio-hold [-f] [-n NAME] GROUP [BDF]
 *   vfio-hold -s GROUP
 *   vfio-hold -l GROUP
 *   vfio-hold -u MS GROUP
 *
 * Opens /dev/vfio/vfio and /dev/vfio/GROUP, attaches the group to the
 * container (VFIO_GROUP_SET_CONTAINER: the kernel claims DMA ownership of the
 * group here), sets a type1v2 IOMMU and, given a BDF, takes that device's fd.
 * Prints "holding group GROUP pid PID" once it holds, then sleeps.
 * Exits 1 naming the step that failed.
 *
 *   -f       skip the viability check (VFIO_GROUP_GET_STATUS) that QEMU
 *            makes first: a client that never asks and sets its container
 *   -n NAME  set the process's comm to NAME first (prctl(PR_SET_NAME)), as
 *            any VFIO user may
 *   -s       only ask: open /dev/vfio/GROUP, print "viable" or "not-viable"
 *            (VFIO_GROUP_GET_STATUS's VFIO_GROUP_FLAGS_VIABLE, the kernel's
 *            own verdict) and exit 0; the group is never attached to a
 *            container, so nothing is claimed
 *   -l       loop until SIGTERM: VFIO_GROUP_GET_STATUS, then claim and
 *            release (VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER),
 *            as fast as it can; then print "loop ok N busy N failed N
 *            last-error E" (busy: SET_CONTAINER failed with EBUSY; failed:
 *            any other ioctl error) and exit 0
 *   -u MS    UNSET_CONTAINER overtaking SET_CONTAINER: a child process
 *            waits MS milliseconds, then unsets the container of the
 *            same group fd while the parent's SET_CONTAINER has not
 *            returned yet (the module's test build makes a claim's commit
 *            wait: fail_delay_ms=); prints "set E unset E" (each ioctl's
 *            errno name, or 0) and exits 0
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *step)
{
	printf("vfio-hold: %s: %s\n", step, strerror(errno));
	return 1;
}

/*
 * Open /dev/vfio/NAME and, given @status, ask VFIO_GROUP_GET_STATUS: the fd,
 * or -1 (failed).
 */
static int group_status(const char *name, struct vfio_group_status *status)
{
	char path[64];
	int group;

	snprintf(path, sizeof(path), "/dev/vfio/%s", name);
	group = open(path, O_RDWR);
	if (group < 0) {
		fail(path);
		return -1;
	}
	if (status && ioctl(group, VFIO_GROUP_GET_STATUS, status)) {
		fail("VFIO_GROUP_GET_STATUS");
		close(group);
		return -1;
	}
	return group;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

/* -l: claim and release GROUP until SIGTERM, count what the ioctls said. */
static int loop(int container, int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	unsigned long ok = 0, busy = 0, failed = 0;
	int last = 0;

	signal(SIGTERM, on_term);
	printf("looping\n");
	while (!stop) {
		if (ioctl(group, VFIO_GROUP_GET_STATUS, &status)) {
			failed++;
			last = errno;
		}
		if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) {
			if (errno == EBUSY) {
				busy++;
			} else {
				failed++;
				last = errno;
			}
			continue;
		}
		if (ioctl(group, VFIO_GROUP_UNSET_CONTAINER)) {
			failed++;
			last = errno;
			continue;
		}
		ok++;
	}
	printf("loop ok %lu busy %lu failed %lu last-error %s\n", ok, busy,
	       failed, last ? strerror(last) : "-");
	return 0;
}

/* -u MS: a child unsets the container MS ms into the parent's SET_CONTAINER */
static int unset_race(int container, int group, int ms)
{
	int set_err = 0, unset_err = 0, status;
	pid_t child = fork();

	if (child < 0)
		return fail("fork");
	if (!child) {
		usleep(ms * 1000);
		_exit(ioctl(group, VFIO_GROUP_UNSET_CONTAINER) ? errno : 0);
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		set_err = errno;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return fail("waitpid");
	unset_err = WEXITSTATUS(status);
	printf("set %s unset %s\n", set_err ? strerror(set_err) : "0",
	       unset_err ? strerror(unset_err) : "0");
	return 0;
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int container, group, device, opt, force = 0, ask = 0, looping = 0;
	int race_ms = -1;

	while ((opt = getopt(argc, argv, "fln:su:")) != -1) {
		switch (opt) {
		case 'u':
			race_ms = atoi(optarg);
			break;
		case 'l':
			looping = 1;
			break;
		case 's':
			ask = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'n':
			if (prctl(PR_SET_NAME, optarg))
				return fail("prctl PR_SET_NAME");
			break;
		default:
			return 2;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: vfio-hold [-f] [-n NAME] GROUP [BDF] | vfio-hold -s GROUP | vfio-hold -l GROUP | vfio-hold -u MS GROUP\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	if (ask) {
		if (group_status(argv[1], &status) < 0)
			return 1;
		puts(status.flags & VFIO_GROUP_FLAGS_VIABLE ? "viable" : "not-viable");
		return 0;
	}

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return fail("VFIO_GET_API_VERSION");
	if (!ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
		return fail("VFIO_CHECK_EXTENSION type1v2");

	group = group_status(argv[1], force ? NULL : &status);
	if (group < 0)
		return 1;
	if (looping)
		return loop(container, group);
	if (race_ms >= 0)
		return unset_race(container, group, race_ms);
	if (!force && !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		return fail("group not viable (a member has a host driver)");
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return fail("VFIO_SET_IOMMU");
	if (argc == 3) {
		device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
		if (device < 0)
			return fail("VFIO_GROUP_GET_DEVICE_FD");
	}

	printf("holding group %s pid %d\n", argv[1], getpid());
	for (;;)
		pause();
}
