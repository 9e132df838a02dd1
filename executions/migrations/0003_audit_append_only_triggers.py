from django.db import migrations

from executions.audit.triggers import drop_triggers, install_triggers


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_triggers(schema_editor.connection)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    drop_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("executions", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
