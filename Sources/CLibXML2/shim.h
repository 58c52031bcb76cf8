#ifndef CLIBXML2_SHIM_H
#define CLIBXML2_SHIM_H

/* Debian builds libxml2 with LIBXML_ICU_ENABLED, so <libxml/encoding.h> pulls in the system ICU headers.
 * Swift's Foundation ships its own ICU module (_FoundationICU); any Swift file (a test, say) that sees both
 * fails on clean builds with "'UErrorCode' has different definitions in different modules". The ICU members
 * sit at the end of xmlCharEncodingHandler and are only reached through pointers, so hiding them is safe. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlsave.h>

/* xmlFree is a global function-pointer variable (a macro over it in some builds); Swift 6 rejects direct
 * references to mutable C globals under strict concurrency. Call it through this wrapper. */
static inline void cwmp_xml_free(void *pointer) { xmlFree(pointer); }

/* The libxml2 version this binary runs against (xmlParserVersion is a thread-local macro Swift cannot import). */
static inline const char *cwmp_xml_parser_version(void) { return *__xmlParserVersion(); }

#endif /* CLIBXML2_SHIM_H */
