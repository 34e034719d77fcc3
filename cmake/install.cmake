# Install rules: `cmake --install build --prefix P` puts the static library,
# the public headers, the CLIs, a CMake package (find_package(nst) ->
# nst::nst) and a pkg-config file (nst.pc) under P. examples/embed is the
# consumer that CI builds against it (tools/embed_check.sh).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NST_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/nst)
# libnst is static, so what it links travels with it: the cuda kernels and
# vendor paths are exported beside it.
set(nst_exported nst)
foreach(t IN ITEMS nst_cuda_kernels nst_cuda_vendor)
  if(TARGET ${t})
    list(APPEND nst_exported ${t})
  endif()
endforeach()

install(TARGETS ${nst_exported} EXPORT nstTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY engine/include/nst DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT nstTargets NAMESPACE nst:: DESTINATION ${NST_INSTALL_CMAKEDIR})

# The CLIs keep the OpenBLAS they were linked with (the OpenMP build, by full
# path outside the loader's default directories) through their RPATH.
set_target_properties(nst_cli nst_weights_cli nst_score_cli PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS nst_cli nst_weights_cli nst_score_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# pkg-config modules whose imported targets libnst links; the package
# config makes them again (PkgConfig::LIBZIP, PkgConfig::STB, PkgConfig::OPENBLAS).
set(NST_PACKAGE_PKGCONFIG_MODULES libzip)
if(NOT NST_STB_FROM_SOURCE)
  list(APPEND NST_PACKAGE_PKGCONFIG_MODULES stb)
endif()
if(NOT NST_OPENBLAS_OPENMP)
  list(APPEND NST_PACKAGE_PKGCONFIG_MODULES openblas)
endif()
if(NST_PACKAGE_PKGCONFIG_MODULES)
  set(NST_PACKAGE_NEEDS_PKGCONFIG ON)
else()
  set(NST_PACKAGE_NEEDS_PKGCONFIG OFF)
endif()
string(REPLACE ";" " " NST_PACKAGE_PKGCONFIG_MODULES "${NST_PACKAGE_PKGCONFIG_MODULES}")
configure_package_config_file(cmake/nstConfig.cmake.in ${PROJECT_BINARY_DIR}/nstConfig.cmake
  INSTALL_DESTINATION ${NST_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nstConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nstConfig.cmake ${PROJECT_BINARY_DIR}/nstConfigVersion.cmake
  DESTINATION ${NST_INSTALL_CMAKEDIR})

# nst.pc: a static library, so Libs lists everything it links, in link order.
set(NST_PC_REQUIRES "zlib fmt ${NST_PACKAGE_PKGCONFIG_MODULES}")
set(pc_libs -lnst)
if(NST_HAVE_CUDA)
  if(TARGET nst_cuda_vendor)
    list(APPEND pc_libs -lnst_cuda_vendor)
    get_target_property(vendor_defs nst_cuda_vendor INTERFACE_COMPILE_DEFINITIONS)
    if("NST_HAVE_CUDNN=1" IN_LIST vendor_defs)
      list(APPEND pc_libs ${NST_CUDNN_LIBRARY})
    endif()
  endif()
  list(APPEND pc_libs -lnst_cuda_kernels -L${CUDAToolkit_LIBRARY_DIR} -lcublas -lcudart)
endif()
if(NST_OPENBLAS_OPENMP)
  get_filename_component(NST_OPENBLAS_OPENMP_DIR ${NST_OPENBLAS_OPENMP} DIRECTORY)
  list(APPEND pc_libs -Wl,-rpath,${NST_OPENBLAS_OPENMP_DIR} ${NST_OPENBLAS_OPENMP})
endif()
list(APPEND pc_libs ${HDF5_C_LIBRARIES} ${OpenMP_CXX_FLAGS})
string(REPLACE ";" " " NST_PC_LIBS "${pc_libs}")
configure_file(cmake/nst.pc.in ${PROJECT_BINARY_DIR}/nst.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nst.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
