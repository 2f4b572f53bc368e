/*
 * add_columns.c — TimeSeriesTable.add_columns(): adding nullable columns
 * (tstable/evolve.h) from Python.
 *
 * The native method takes the PyCapsule "arrow_schema" of a pyarrow Schema
 * (its __arrow_c_schema__(); the package checks the type and the schema
 * metadata first, _table.py) and returns the committed version. Under the
 * handle's lock with the GIL released, as every write. The commit is made on
 * the handle's version (no refresh): another writer first raises
 * ConflictError with expected and found; a broken rule SchemaMismatchError.
 */
#include "ttf.h"

#include "tstable/evolve.h"

static PyObject *table_add_columns(ttf_TableObject *self, PyObject *capsule)
{
    if (!PyCapsule_IsValid(capsule, "arrow_schema")) {
        PyErr_SetString(PyExc_TypeError, "add_columns() takes the PyCapsule 'arrow_schema' of "
                        "a pyarrow.Schema (schema.__arrow_c_schema__())");
        return NULL;
    }
    const struct ArrowSchema *schema = PyCapsule_GetPointer(capsule, "arrow_schema");
    if (schema == NULL)
        return NULL;
    uint64_t version = 0;
    int rc;
    ttf_table_lock(self);
    Py_BEGIN_ALLOW_THREADS
    rc = tst_table_add_columns_arrow(self->table, schema, &version);
    Py_END_ALLOW_THREADS
    PyObject *out = rc == 0 ? PyLong_FromUnsignedLongLong(version)
                            : ttf_raise_last(tst_table_root(self->table), self->table);
    ttf_table_unlock(self);
    return out;
}

PyMethodDef ttf_add_columns_methods[] = {
    {"add_columns", (PyCFunction)table_add_columns, METH_O,
     "add_columns(schema_capsule) -> int\n\nAdd the schema's fields (each nullable, new) at the\n"
     "end of the table's schema in one metadata-only commit on the handle's version;\n"
     "returns the committed version. SchemaMismatchError for a broken rule,\n"
     "ConflictError when another writer committed first."},
    {NULL, NULL, 0, NULL}};
