#include "nt_decode.h"
