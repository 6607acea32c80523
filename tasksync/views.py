from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tasksync import selectors
from tasksync.forms import TaskForm
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


@login_required
def command_center(request):
    center = selectors.command_center_for(user=request.user)
    return render(request, "tasks/command_center.html", {"center": center})


@login_required
def task_list(request):
    status = request.GET.get("status", "")
    tasks = selectors.task_list_for(user=request.user, status=status)
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "tasks/task_list.html",
        {"tasks": page.object_list, "page": page, "status": status, "statuses": TaskStatus.choices},
    )


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


@require_POST
@login_required
def task_complete(request, pk):
    task = _own_task(request, pk)
    task_services.task_complete(task=task)
    messages.success(request, _("Completed “%(name)s”.") % {"name": task.name})
    return redirect(_next_or(request, "command_center"))


@require_POST
@login_required
def task_reopen(request, pk):
    task = _own_task(request, pk)
    task_services.task_reopen(task=task)
    messages.success(request, _("Reopened “%(name)s”.") % {"name": task.name})
    return redirect(_next_or(request, "task_list"))
