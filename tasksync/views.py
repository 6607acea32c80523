from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tasksync import selectors
from tasksync.forms import TaskForm
from tasksync.live import LiveRegion
from tasksync.models import ReminderTask, TaskStatus
from tasksync.services import tasks as task_services

TASKS_PER_PAGE = 100


def _own_task(request, pk):
    """The signed-in user's live task, or 404: another user's id is as unknown as a wrong id."""
    return get_object_or_404(ReminderTask.objects.live(), pk=pk, user=request.user)


def _next_or(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _command_center_context(request):
    return {
        "center": selectors.command_center_for(user=request.user),
        "rep": selectors.rep_status_for(user=request.user),
        "next_url": reverse("command_center"),
    }


COMMAND_CENTER = LiveRegion(
    region_id="command-center-live",
    poll_url_name="live_command_center",
    template="tasks/_command_center_body.html",
    context=_command_center_context,
)
command_center = COMMAND_CENTER.page_view("tasks/command_center.html")
live_command_center = COMMAND_CENTER.poll_view()


_VIEW_LABELS = {
    "overdue": gettext_lazy("Overdue"),
    "today": gettext_lazy("Today"),
    "upcoming": gettext_lazy("Upcoming"),
    "completed": gettext_lazy("Completed"),
}


def _task_list_context(request):
    status = request.GET.get("status", "")
    show = request.GET.get("show", "")
    show = show if show in selectors.TASK_VIEWS else ""
    tasks = selectors.task_list_for(user=request.user, status=status, show=show)
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("v", None)
    return {
        "tasks": page.object_list,
        "page": page,
        "status": status,
        "show": show,
        "statuses": TaskStatus.choices,
        "views": [(value, _VIEW_LABELS[value]) for value in selectors.TASK_VIEWS],
        "rep": selectors.rep_status_for(user=request.user),
        "filter_query": "&".join(f"{k}={v}" for k, v in (("show", show), ("status", status)) if v),
        "next_url": reverse("task_list") + ("?" + query.urlencode() if query else ""),
    }


# R14: the poll keeps the list's filters (its query string).
TASK_LIST = LiveRegion(
    region_id="task-list-live",
    poll_url_name="live_task_list",
    template="tasks/_task_list_body.html",
    context=_task_list_context,
    keep_query=True,
)
task_list = TASK_LIST.page_view("tasks/task_list.html")
live_task_list = TASK_LIST.poll_view()


@login_required
def task_create(request):
    form = TaskForm(request.POST or None, initial={"due_date": request.GET.get("due")})
    if request.method == "POST" and form.is_valid():
        task = task_services.task_create(user=request.user, **form.synced_values())
        messages.success(request, _("Task “%(name)s” created.") % {"name": task.name})
        return redirect(_next_or(request, "task_list"))
    return render(
        request, "tasks/task_form.html", {"form": form, "next_url": _next_or(request, "")}
    )


@login_required
def task_edit(request, pk):
    task = _own_task(request, pk)
    # Validate against a copy so a failed form never leaves half-applied values on the task.
    form = TaskForm(request.POST or None, instance=ReminderTask.objects.get(pk=task.pk))
    if request.method == "POST" and form.is_valid():
        task_services.task_update(task=task, **form.synced_values())
        messages.success(request, _("Task “%(name)s” saved.") % {"name": task.name})
        return redirect(_next_or(request, "task_list"))
    return render(
        request,
        "tasks/task_form.html",
        {"form": form, "task": task, "next_url": _next_or(request, "")},
    )


@login_required
def task_delete(request, pk):
    task = _own_task(request, pk)
    if request.method == "POST":
        task_services.task_delete(task=task)
        messages.success(request, _("Task “%(name)s” deleted.") % {"name": task.name})
        return redirect(_next_or(request, "task_list"))
    return render(request, "tasks/task_confirm_delete.html", {"task": task})


def _complete_or_reopen(request, pk, *, complete: bool):
    task = _own_task(request, pk)
    if complete:
        task_services.task_complete(task=task)
        message, default_next = _("Completed “%(name)s”."), "command_center"
    else:
        task_services.task_reopen(task=task)
        message, default_next = _("Reopened “%(name)s”."), "task_list"
    messages.success(request, message % {"name": task.name})
    return redirect(_next_or(request, default_next))


@require_POST
@login_required
def task_complete(request, pk):
    return _complete_or_reopen(request, pk, complete=True)


@require_POST
@login_required
def task_reopen(request, pk):
    return _complete_or_reopen(request, pk, complete=False)
