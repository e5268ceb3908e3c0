package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * {@code libxentoollog.so.1}: the logger every Xen library writes through.
 *
 * <p>libxl requires a logger: {@code libxl_ctx_alloc} with a NULL logger segfaults on its error
 * path (verified), so the binding always creates one, writing to a file through a stdio stream,
 * as libvirt and Xen's Go binding do. A callback logger is not possible from Java: its
 * {@code vmessage} takes a {@code va_list}.
 */
public interface LibXenToolLog extends Library {

    /** The stable soname; this library has kept ABI version 1. */
    String SONAME = "libxentoollog.so.1";

    /** {@code XTL_DEBUG}. */
    int XTL_DEBUG = 1;
    /** {@code XTL_DETAIL}. */
    int XTL_DETAIL = 3;
    /** {@code XTL_INFO}. */
    int XTL_INFO = 5;
    /** {@code XTL_STDIOSTREAM_SHOW_PID}. */
    int XTL_STDIOSTREAM_SHOW_PID = 1;
    /** {@code XTL_STDIOSTREAM_SHOW_DATE}. */
    int XTL_STDIOSTREAM_SHOW_DATE = 2;
    /** {@code XTL_STDIOSTREAM_HIDE_PROGRESS}: migrations would log a line per percent. */
    int XTL_STDIOSTREAM_HIDE_PROGRESS = 4;

    /**
     * {@code xentoollog_logger_stdiostream *xtl_createlogger_stdiostream(FILE *f,
     * xentoollog_level min_level, unsigned flags)}; the stream must outlive the logger.
     */
    Pointer xtl_createlogger_stdiostream(Pointer file, int minimumLevel, int flags);

    /** {@code void xtl_logger_destroy(struct xentoollog_logger *logger)}; NULL is allowed. */
    void xtl_logger_destroy(Pointer logger);
}
