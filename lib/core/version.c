#include "hwai/version.h"

const char *hwai_version(void)
{
    return HWAI_VERSION_STRING;
}
