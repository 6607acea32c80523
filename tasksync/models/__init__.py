from .tasks import ReminderTask, TaskPriority, TaskStatus

__all__ = ["ReminderTask", "TaskPriority", "TaskStatus"]
