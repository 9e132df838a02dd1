from django.db import migrations

from executions.migrations._roles import roles_creator


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_creator({"Operators": ("executions.cancel_execution",),
                                                      "Auditors": ("executions.view_auditevent",)}),
                                       migrations.RunPython.noop)]
