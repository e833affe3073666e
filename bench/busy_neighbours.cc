// Busy neighbours: fork()ed children spinning until the parent exits (PR_SET_PDEATHSIG
// ends them even when the parent is killed).
#include "busy_neighbours.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace rb {
namespace {

std::vector<pid_t> children;
int asked = 0;

void stop_children()
{
    for (pid_t p : children)
        kill(p, SIGKILL);
    for (pid_t p : children)
        waitpid(p, nullptr, 0);
    children.clear();
}

[[noreturn]] void spin()
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    volatile unsigned long x = 0;
    for (;;)
        x = x + 1;
}

} // namespace

void start_busy_neighbours(int n)
{
    asked = n;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0)
            spin();
        if (p > 0)
            children.push_back(p);
        else
            std::perror("recur-bench: fork");
    }
    if (!children.empty())
        std::atexit(stop_children);
}

int busy_neighbours()
{
    return asked;
}

} // namespace rb
