# Installs the library, headers, programs and a CMake package (find_package(augcore)).
include(CMakePackageConfigHelpers)

install(TARGETS augcore EXPORT augcoreTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/augcore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Recipes travel with the package: mra_train --config NAME finds them here.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/augcore/configs)
install(EXPORT augcoreTargets NAMESPACE augcore::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/augcore)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/augcoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/augcoreConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/augcore)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/augcoreConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/augcoreConfig.cmake
  ${PROJECT_BINARY_DIR}/augcoreConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/augcore)
